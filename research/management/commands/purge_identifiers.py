import getpass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from research import services


class Command(BaseCommand):
    help = (
        "Blank the Prolific ids of participants who started more than --days days ago (default: RETENTION_DAYS); "
        "their answers stay, no longer linkable to a person. Logged in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.RETENTION_DAYS,
                            help="Blank the ids of participants who started more than this many days ago "
                                 "(default: RETENTION_DAYS, now %(default)s).")

    def handle(self, days, **options):
        if days < 1:
            raise CommandError("Give --days (at least 1), or set RETENTION_DAYS.")
        purged = services.identifiers_purge(older_than_days=days, actor=f"command:{getpass.getuser()}")
        self.stdout.write(f"Blanked the Prolific ids of {purged} participants who started more than {days} days ago.")
