import getpass

from django.core.management.base import BaseCommand, CommandError

from research import services
from study.models import Study


class Command(BaseCommand):
    help = (
        "Delete one participant's data on request, by Prolific id (--pid) or by the pseudonym the exports give them "
        "or the admin's P<number> (--participant): answers, player events, page visits, "
        "recommendations, assignment and the participant. Logged in the audit log with who and when."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The study's slug.")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--pid", help="The participant's PROLIFIC_PID.")
        who.add_argument("--participant", help="The participant's export pseudonym, or P<number> as the admin lists them.")
        parser.add_argument("--by", default="", help="Who asks, for the audit log (default: the OS user).")

    def handle(self, slug, pid, participant, by, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"No study with slug {slug!r}.")
        try:
            deleted = services.participant_delete(
                study=study, prolific_pid=pid or "", reference=participant or "", actor=by or f"command:{getpass.getuser()}"
            )
        except services.NoSuchParticipant as error:
            raise CommandError(str(error)) from error
        summary = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in deleted.items())
        self.stdout.write(f"Deleted the data of one participant of {slug!r}: {summary}. Logged in the audit log.")
