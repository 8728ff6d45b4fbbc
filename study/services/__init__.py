"""Everything a participant's actions change.

Views, commands, the admin and tasks call these; each checks that the participant may
do what is asked, so a forged request gets a clear error and changes nothing. One
module per stage of the journey; this package's names are the public ones.
"""
from study.services.answers import (  # noqa: F401
    AnswerError,
    Saved,
    StaleAnswer,
    form_integer,
    missing_answers,
    participant_items,
    participant_submit_page,
    response_save,
    study_explanations_shown,
)
from study.services.choosing import (  # noqa: F401
    SearchPage,
    catalog_search,
    participant_confirm_liked,
    participant_like,
    study_pool,
)
from study.services.journey import (  # noqa: F401
    AlreadyTookPart,
    FlowError,
    InvalidLink,
    NotInvited,
    OtherParticipantHere,
    page_visit_enter,
    participant_assign,
    participant_consent,
    participant_enter,
    participant_read_instructions,
)
from study.services.listening import (  # noqa: F401
    TooManyEvents,
    listened_seconds,
    listening_record,
    participant_listening,
    participant_trial_listening,
    study_listening,
    study_trial_listening,
)
from study.services.recommending import (  # noqa: F401
    participant_poll_recommendations,
    participant_recommend,
    participant_retry_recommendations,
    recommendations_resend_orphaned,
    study_recommender_index,
)
from study.services.simulating import (  # noqa: F401
    CONFIDENCE_POINTS,
    TrialError,
    participant_current_trial,
    participant_test_scores,
    participant_trials,
    study_phases,
    trial_answer,
)
