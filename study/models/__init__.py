"""The study app's models: a study's configuration (configuration.py) and questions (items.py), its
preregistration (plan.py), a catalog's preparation job (jobs.py) and what participants did (record.py)."""
from study.models.configuration import (  # noqa: F401
    Condition,
    Study,
    StudyMember,
    StudyTexts,
    StudyTranslation,
    new_seed,
)
from study.models.items import INSTRUCTED, MAX_SCALE_POINTS, Item  # noqa: F401
from study.models.jobs import Preparation  # noqa: F401
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
    model_side,
    new_token,
)
