"""The demo business's NPS answers: a post-purchase survey and an onboarding survey, a few answers a day.

Answers depend only on (seed, day). Scores follow each stage's own mood; the comments are the pain points a
small online school hears (already free of personal data, as every connector's records are). During the
checkout collapse of INCIDENTS the post-purchase answers sour, so the feedback row shows it too.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from connectors.demo import business as biz
from connectors.surveys.records import SurveyResponse

FEEDBACK_STREAM = 3
SURVEYS = {  # survey → (stage, answers a day, score probabilities 0..10)
    "post-purchase-nps": ("purchase", 3.0, (1, 1, 1, 2, 2, 3, 5, 10, 20, 25, 30)),
    "onboarding-nps": ("retention", 2.0, (1, 1, 1, 2, 3, 5, 7, 14, 22, 22, 22)),
}
PAINS = {
    "purchase": ("Checkout asked for my address twice", "Apple Pay did not work on my phone",
                 "Price in dollars confused me", ""),
    "retention": ("Lesson 2 video would not load", "Too many emails in the first week", "Hard to find lesson 3",
                  ""),
}
PRAISE = ("Loved the starter guide", "Clear videos", "", "", "")


def responses(seed: int, day: date) -> list[SurveyResponse]:
    """The answers submitted on `day` (UTC), for every demo survey."""
    rng = np.random.default_rng([seed, day.toordinal(), FEEDBACK_STREAM])
    out = []
    collapse = next(i for i in biz.INCIDENTS if i.key == "checkout-collapse")
    for survey, (stage, per_day, weights) in SURVEYS.items():
        p = np.array(weights, float)
        if stage == "purchase" and collapse.multiplier(day) != 1.0:
            p = p[::-1]  # buyers who fought the broken checkout answer angrily
        p /= p.sum()
        for i in range(int(rng.poisson(per_day))):
            score = int(rng.choice(11, p=p))
            pool = PAINS[stage] if score <= 6 else PRAISE
            submitted = datetime.combine(day, time(8), UTC) + timedelta(minutes=int(rng.integers(0, 12 * 60)))
            rid = hashlib.sha256(f"{survey}:{seed}:{day}:{i}".encode()).hexdigest()[:32]
            out.append(SurveyResponse(survey=survey, response_id=rid, submitted=submitted, score=score, stage=stage,
                                      touchpoint="", comment=str(pool[int(rng.integers(0, len(pool)))]),
                                      persona=""))
    return out
