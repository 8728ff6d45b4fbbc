"""Everything the researcher's workbench changes: setting studies up, their configuration, and the
audited paths by which participants' data leaves. The admin, commands, the API and tasks call these;
this package's names are the public ones."""
from research.services.configuration import (  # noqa: F401
    config_lines,
    study_duplicate,
    study_from_config,
    study_to_config,
)
from research.services.preparing import (  # noqa: F401
    DEFAULT_CNN_MINUTES,
    STAGES,
    PreparationBusy,
    preparation_create,
    preparation_plan,
    preparation_run,
    preparation_start,
)
from research.services.privacy import NoSuchParticipant, identifiers_purge, participant_delete  # noqa: F401
from research.services.setup import (  # noqa: F401
    PrerenderBatch,
    recommender_index_exists,
    study_add_questionnaire,
    study_create,
    study_index,
    study_log_change,
    study_missing_indexes,
    study_prerender_done,
    study_prerender_explanations,
    study_prerender_plan,
    study_sample_size,
    study_simulation_sample_size,
    study_warnings,
)
from research.services.trying import participant_preview, study_discard_test_data  # noqa: F401
