"""How a pilot bot takes the understanding tests: trial by trial through the real page, listening to both
candidates, answering as the model would with the accuracy planted for its condition and test (so a pilot can
plant an effect and see the analysis find it). Only a bot reads the right answer from the database."""
from __future__ import annotations

import time

from study.models import Participant, SimulationTrial

#: Without a planted accuracy a bot guesses: half its answers agree with the model.
GUESSING = (0.5, 0.5)


def parse_accuracy(text: str) -> dict[str, tuple[float, float]]:
    """``features=0.8,control=0.55:0.6`` -> {condition: (pre-test, post-test) accuracy}; one number is the
    post-test's, the pre-test then guessing."""
    planted = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        slug, _sep, value = part.partition("=")
        pre, _sep, post = value.partition(":")
        try:
            numbers = (float(pre), float(post)) if post else (GUESSING[0], float(pre))
        except ValueError:
            raise ValueError(f"{part!r}: write CONDITION=ACCURACY or CONDITION=PRE:POST, e.g. features=0.8") from None
        if not slug or not all(0 <= n <= 1 for n in numbers):
            raise ValueError(f"{part!r}: a condition's slug and accuracies between 0 and 1")
        planted[slug.strip()] = numbers
    return planted


class TakesTests:
    """Bot behaviour on the pre- and post-test pages (research.bots.Bot)."""

    def _trial_answer(self, trial_id: int, phase: str) -> tuple[str, int]:
        trial = SimulationTrial.objects.filter(pk=trial_id).select_related("participant__assignment__condition").first()
        if trial is None:
            raise self.error(f"trial {trial_id} does not exist")
        if self.result.pattern == "straightline":
            return "left", 3
        condition = trial.participant.condition
        accuracy = self.test_accuracy.get(condition.slug if condition else "", GUESSING)[phase == "post"]
        agrees = self.rng.random() < accuracy
        other = {"left": "right", "right": "left"}[trial.model_choice]
        confidence = min(5, max(1, round(self.rng.gauss(3.6 if agrees else 2.6, 1.0))))
        return (trial.model_choice if agrees else other), confidence

    def _hear(self, reader) -> None:
        """Each candidate in turn (clips heard at once count for one): the study's seconds, or a moment."""
        for track in reader.candidates:
            heard = self.listen_s or self.rng.uniform(0.5, 3.0)
            self._listen(reader, track, "play", 0.0)
            if self.listen_s:
                time.sleep(self.listen_s)
                self._listen(reader, track, "progress", heard)
            self._listen(reader, track, "pause", heard)

    def take_test(self, reader, *, fraction: float = 1.0):
        page = self.current
        phase = "pre" if page == Participant.Page.PRETEST else "post"
        answered = 0
        while True:
            if reader.trial is None:
                raise self.error("the test page shows no trial")
            if fraction < 1 and answered >= reader.trial_total * fraction:
                return None
            self._hear(reader)
            choice, confidence = self._trial_answer(reader.trial, phase)
            response = self.client.post(self._url(page), {
                "trial": reader.trial, "choice": choice, "confidence": confidence,
                "client_ms": int(self.rng.uniform(4000, 20000)), "csrfmiddlewaretoken": reader.csrf,
            }, follow=True)
            answered += 1
            if self._page(response) != page:
                return response
            following = type(reader)(response.content.decode())
            if following.trial == reader.trial:
                raise self.error(f"the answer to trial {reader.trial} was not kept")
            reader = following

    pretest = posttest = take_test
