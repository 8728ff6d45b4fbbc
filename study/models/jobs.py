"""A catalog's preparation for a study, as a job with a state the admin's panel and the command read:
each stage's done/total, its seconds, an ETA, and what went wrong (research.services.preparing runs it)."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from study.models.configuration import Study

# No word from a running job for this long: its process is gone (a worker killed, a machine restarted).
STALLED_AFTER_S = 180


class Preparation(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Waiting for a batch worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    catalog = models.ForeignKey("recommender.Catalog", on_delete=models.CASCADE, related_name="preparations")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, null=True, blank=True, related_name="preparations",
                              help_text="The study whose explanations are prerendered at the end (none: the catalog only).")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    options = models.JSONField(default=dict, blank=True, help_text="What was asked: the CNN's minutes, and so on.")
    stages = models.JSONField(
        default=list, blank=True,
        help_text="One entry per stage: name, state, done, total, seconds, eta_s, note (research.services.preparing).",
    )
    summary = models.JSONField(default=dict, blank=True, help_text="The evaluation at the end: quality, spread, tags.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Preparation of {self.catalog} ({self.get_state_display().lower()})"

    @property
    def active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING) and not self.stalled

    @property
    def stalled(self) -> bool:
        """Running (or queued) but silent for minutes: its process died; asking again resumes it."""
        if self.state not in (self.State.QUEUED, self.State.RUNNING):
            return False
        return (timezone.now() - self.updated_at).total_seconds() > STALLED_AFTER_S

    @property
    def current(self) -> dict | None:
        return next((s for s in self.stages if s.get("state") == "running"), None)

    @property
    def eta_s(self) -> float | None:
        """Seconds left: the running stage's ETA and the estimates of the stages still to come."""
        if self.state != self.State.RUNNING:
            return None
        left = [s.get("eta_s") if s.get("state") == "running" else s.get("estimate_s")
                for s in self.stages if s.get("state") in ("running", "pending")]
        return sum(v for v in left if v is not None)
