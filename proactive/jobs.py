"""What the worker runs for the proactive part, each job at its own pace.

    jobs = ProactiveJobs.build(settings, store, graph)   # once per worker process
    jobs.run_due()                                       # every worker loop; cheap when nothing is due

Every job is idempotent (dedupe keys, UNIQUE outcomes), so several workers may run them at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from opstore.service import StoreService
from proactive import quality, segments
from proactive.repo import ProactiveStore
from proactive.triggers import CustomerData, Triggers
from skinsage.settings import Settings

log = logging.getLogger("skinsage.proactive")


@dataclass
class ProactiveJobs:
    settings: Settings
    repo: ProactiveStore
    graph: CustomerData
    triggers: Triggers
    #: seconds between runs per job
    every: dict[str, float] = field(default_factory=lambda: {
        "checkouts": 60.0, "quality": 300.0, "segments": 6 * 3600.0, "seasons": 6 * 3600.0, "purge": 24 * 3600.0})
    clock: Callable[[], float] = time.monotonic
    _last: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, store: StoreService, graph: CustomerData) -> ProactiveJobs:
        repo = ProactiveStore(store)
        return cls(settings, repo, graph, Triggers.from_settings(settings, repo, graph))

    def run_due(self) -> dict[str, int]:
        """Run the jobs whose interval has passed; returns what each did (empty = nothing due)."""
        done = {}
        for name, job in (("checkouts", self.checkouts), ("quality", self.quality), ("segments", self.segments),
                          ("seasons", self.seasons), ("purge", self.purge)):
            last = self._last.get(name)
            if last is not None and self.clock() - last < self.every[name]:
                continue
            self._last[name] = self.clock()
            try:
                done[name] = job()
            except Exception:  # one failing job must not stop the others (or the worker)
                log.exception("proactive job %s failed", name)
        return done

    def checkouts(self) -> int:
        return sum(o.action == "sent" for o in self.triggers.checkouts())

    def seasons(self) -> int:
        ids = segments.customer_ids(self.graph, self.repo)
        return sum(o.action == "sent" for o in self.triggers.seasons(ids))

    def segments(self) -> int:
        ids = segments.customer_ids(self.graph, self.repo)
        return segments.refresh_segments(self.repo, self.graph, ids, self.repo.ctx.now().date())

    def quality(self) -> int:
        closed = quality.close_out(self.repo, self.settings.proactive_resolved_after_idle_h)
        return closed + quality.mark_conversions(self.repo, self.graph, self.settings.proactive_conversion_days)

    def purge(self) -> int:
        return self.repo.purge_events(self.repo.ctx.now() - timedelta(days=self.settings.proactive_event_retention_days))
