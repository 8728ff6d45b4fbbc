"""The study app's models: a study's configuration (configuration.py), its preregistration (plan.py) and what
participants did (record.py)."""
from study.models.configuration import (  # noqa: F401
    MAX_SCALE_POINTS,
    Condition,
    Item,
    Study,
    StudyMember,
    StudyTexts,
    StudyTranslation,
    new_seed,
)
from study.models.plan import Preregistration  # noqa: F401
from study.models.record import (  # noqa: F401
    Assignment,
    AuditEntry,
    LikedTrack,
    ListeningEvent,
    PageVisit,
    Participant,
    Recommendation,
    Response,
    SimulationTrial,
    new_token,
)
