"""Who may do what with a study: the one place for the rules every researcher page, admin action, export and
API endpoint asks.

A user may do something with a study when both hold:
- the Django permission it needs (given to the user or their group), and
- a role in that study (StudyMember) that allows it.
Superusers may do everything; a user who is not active staff nothing. Seeing raw Prolific ids is its own
permission (study.view_prolific_id) on top of a role that allows it, and every use is logged by the export.
"""
from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from study.models import Participant, Study, StudyMember

Role = StudyMember.Role


class Can(StrEnum):
    VIEW = "view"  # monitor, gallery, analysis, configuration, pseudonymous exports
    CONFIGURE = "configure"  # change the study, pilot it, prerender its explanations
    IDENTIFY = "identify"  # raw Prolific ids (the legacy CSV, include_prolific_pid)
    DELETE_DATA = "delete_data"  # a participant's data on request
    MANAGE = "manage"  # the study's members, deleting the study


#: The roles that allow each thing, and the Django permission it needs besides.
ROLES = {
    Can.VIEW: {Role.OWNER, Role.COLLABORATOR, Role.VIEWER},
    Can.CONFIGURE: {Role.OWNER, Role.COLLABORATOR},
    Can.IDENTIFY: {Role.OWNER, Role.COLLABORATOR},
    Can.DELETE_DATA: {Role.OWNER},
    Can.MANAGE: {Role.OWNER},
}
PERMISSIONS = {
    Can.VIEW: "study.view_study",
    Can.CONFIGURE: "study.change_study",
    Can.IDENTIFY: "study.view_prolific_id",
    Can.DELETE_DATA: "study.delete_participant",
    Can.MANAGE: "study.change_study",
}


def user_studies(user, can: Can = Can.VIEW) -> QuerySet[Study]:
    """The studies ``user`` may do ``can`` with."""
    if not (user.is_active and user.is_staff):
        return Study.objects.none()
    if user.is_superuser:
        return Study.objects.all()
    if not user.has_perm(PERMISSIONS[can]):
        return Study.objects.none()
    return Study.objects.filter(members__user=user, members__role__in=ROLES[can]).distinct()


def study_allows(*, user, study: Study, can: Can) -> bool:
    return user_studies(user, can).filter(pk=study.pk).exists()


def study_require(*, user, study: Study, can: Can) -> None:
    """Raise PermissionDenied, saying what is missing, unless ``user`` may do ``can`` with ``study``."""
    if not study_allows(user=user, study=study, can=can):
        raise PermissionDenied(
            f"{user.get_username() or 'This account'} may not {can.value} study {study.slug!r}: it needs the "
            f"{PERMISSIONS[can]} permission and a role of {', '.join(sorted(ROLES[can]))} in the study."
        )


def user_study(user, can: Can = Can.VIEW, **lookup) -> Study:
    """The study ``lookup`` names (pk=..., slug=...) for a researcher page or API call: Http404 where this user may
    not see it (its existence is not theirs to know), PermissionDenied where their role stops short of ``can``.
    Django and DRF both answer these as 404 and 403."""
    study = user_studies(user).filter(**lookup).first()
    if study is None:
        raise Http404("No such study.")
    study_require(user=user, study=study, can=can)
    return study


def user_participants(user, can: Can = Can.VIEW) -> QuerySet[Participant]:
    """The participants of the studies ``user`` may do ``can`` with."""
    return Participant.objects.filter(study__in=user_studies(user, can))


def study_add_owner(*, study: Study, user) -> None:
    """Make the researcher who created a study its owner (a superuser, who sees everything, too, so the
    study has an owner once others join)."""
    StudyMember.objects.update_or_create(study=study, user=user, defaults={"role": Role.OWNER})


# Catalogs ----------------------------------------------------------------------------------------------------------
# A catalog belongs to no one, but a change to it reaches every study that uses it: a researcher sees the catalogs of
# the studies they may see (and those no study uses yet), and changes one only with the catalog permission and a
# role that may configure every study on it.

def user_catalogs(user):
    """The catalogs ``user`` may see: those of their studies, and those no study uses yet."""
    from recommender.models import Catalog

    if not (user.is_active and user.is_staff):
        return Catalog.objects.none()
    if user.is_superuser:
        return Catalog.objects.all()
    return Catalog.objects.filter(Q(studies__in=user_studies(user)) | Q(studies__isnull=True)).distinct()


def catalog_allows(*, user, catalog, permission: str) -> bool:
    """Whether ``user`` may do what ``permission`` (e.g. "recommender.change_catalog") allows with this catalog."""
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    if not user.has_perm(permission):
        return False
    studies = Study.objects.filter(catalog=catalog)
    return not studies.exclude(pk__in=user_studies(user, Can.CONFIGURE)).exists()


def catalog_require(*, user, catalog, permission: str) -> None:
    if not catalog_allows(user=user, catalog=catalog, permission=permission):
        used = ", ".join(repr(s) for s in Study.objects.filter(catalog=catalog).values_list("slug", flat=True))
        raise PermissionDenied(
            f"{user.get_username() or 'This account'} may not change catalog {catalog.slug!r}: it needs the "
            f"{permission} permission" + (f" and a role that may configure every study using it ({used})." if used else ".")
        )
