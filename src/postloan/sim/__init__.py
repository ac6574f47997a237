"""Portfolio simulator: a synthetic loan book that behaves like a real one (digital twin).

``simulate(config, loans=, months=, seed=)`` returns the frames; ``write_feeds``
writes them as the feed files postloan imports. See docs/simulator.md.
"""

from postloan.sim.config import SimConfig, load_config
from postloan.sim.output import write_feeds
from postloan.sim.runner import SimResult, simulate

__all__ = ["SimConfig", "SimResult", "load_config", "simulate", "write_feeds"]
