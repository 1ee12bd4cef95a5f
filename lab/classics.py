"""The classic figures as presets: each one a Race-page link that reproduces it exactly.

Pure data (no streamlit): ``CLASSICS`` lists the figures in the order the page shows them. Each link
names a surface, the optimizers, the number of steps, the start and the learning rates (plus any other
hyperparameter that differs from the table's default), in the Race page's URL format, written by
``lab.urlstate``'s codec: ``?surface=beale&optimizers=sgd,momentum&steps=1000&start=1,1.5&lr_sgd=0.0003``.
The pages' paths are not written here: they come from ``app.py``'s navigation table (``ui.links``).

Sources: A. Radford's animations of SGD, Momentum, NAG, Adagrad, Adadelta and RMSprop on Beale's function
and on a saddle point (2014, reproduced in Ruder's overview, arXiv:1609.04747, figure 4); the
advanced-gradient-descent-with-animations reference (Momentum vs NAG with momentum 0.95 from the same
start; a surface with a local and a global minimum; the same race at three learning rates).
"""

from __future__ import annotations

from dataclasses import dataclass

from lab import urlstate

RACE_PAGE = "pages/race.py"
ATLAS_PAGE = "pages/atlas.py"
RADFORD_SIX = ("sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop")
REFERENCE_SEVEN = RADFORD_SIX + ("adam",)
FIRST_ORDER_TEN = RADFORD_SIX + ("adam", "adamax", "nadam", "amsgrad")
# The saddle presets of lab.presets (every first step under 5 % of the view; see calm_learning_rate).
SADDLE_RATES = {"sgd": 0.03, "momentum": 0.01, "nag": 0.01, "adagrad": 0.1, "adadelta": 3.0, "rmsprop": 0.03,
                "adam": 0.1, "adamax": 0.1, "nadam": 0.03, "amsgrad": 0.01}


@dataclass(frozen=True)
class RaceLink:
    """One race on the Race page, as the URL that sets it up."""

    label: str
    surface: str
    optimizers: tuple[str, ...]
    steps: int
    start: tuple[float, float]
    # ((optimizer, ((parameter, value), ...)), ...): the values the URL sets
    hyperparameters: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]

    def hyperparameters_of(self, name: str) -> dict[str, float]:
        return dict(dict(self.hyperparameters).get(name, ()))

    def query(self) -> dict[str, str]:
        """The query parameters, in the Race page's own format (``lab.urlstate.race_params``)."""
        return urlstate.race_params(self.surface, list(self.optimizers), self.steps, self.start,
                                    {n: self.hyperparameters_of(n) for n in self.optimizers})

    def query_string(self) -> str:
        return urlstate.query_string(self.query())


@dataclass(frozen=True)
class Classic:
    slug: str
    title: str
    watch: str  # what to watch for, one or two sentences
    source: str
    links: tuple[RaceLink, ...]
    atlas_query: dict[str, str] | None = None  # a link to the Atlas page, when that page exists
    table: tuple[tuple[str, ...], ...] = ()  # a small table shown with the figure: header row, then rows


def _rates(rates: dict[str, float], extra: dict[str, dict[str, float]] | None = None) -> tuple:
    """Hyperparameters per optimizer: a learning rate each, plus ``extra`` ones ({"nag": {"momentum": …}})."""
    extra = extra or {}
    return tuple((name, tuple(sorted({"lr": lr, **extra.get(name, {})}.items())))
                 for name, lr in rates.items())


def _same_rate(names, lr: float) -> tuple:
    # Adadelta has no learning rate in Zeiler's rule; its lr is a multiplier of the step and stays 1.
    return _rates({n: (1.0 if n == "adadelta" else lr) for n in names})


LEARNING_RATES = (0.001, 0.01, 0.1)
LR_COMPARISON = tuple(
    RaceLink(f"Learning rate {lr:g}", "two_minima", REFERENCE_SEVEN, 500, (1.9, 1.5),
             _same_rate(REFERENCE_SEVEN, lr))
    for lr in LEARNING_RATES
)
# The Atlas page's learning-rate view (pages/atlas.py: view=rates, lrs=…) of the same comparison.
ATLAS_LR_QUERY = {
    "surface": "two_minima",
    "optimizers": ",".join(REFERENCE_SEVEN),
    "steps": "500",
    "start": urlstate.format_point((1.9, 1.5)),
    "view": "rates",
    "lrs": ",".join(urlstate.format_number(lr) for lr in LEARNING_RATES),
}

CLASSICS: tuple[Classic, ...] = (
    Classic(
        "radford-beale", "Radford's race on Beale's function",
        "SGD, Momentum and NAG creep along the flat plateau while the adaptive methods (Adagrad, Adadelta, "
        "RMSprop) turn into the curved valley towards (3, 0.5) much sooner; RMSprop arrives first.",
        "A. Radford's animation, reproduced in Ruder (2016), figure 4a.",
        (RaceLink("Open the race", "beale", RADFORD_SIX, 1000, (1.0, 1.5), _rates({
            "sgd": 0.0003, "momentum": 0.0001, "nag": 0.0001, "adagrad": 0.1, "adadelta": 3.0,
            "rmsprop": 0.01})),),
    ),
    Classic(
        "radford-saddle", "Radford's race at a saddle point, with the Adam family",
        "All ten start just off the ridge of f = x² − y², where the downhill slope along y is almost zero, "
        "and each first step moves less than 5 % of the picture. The adaptive methods rescale the tiny "
        "y-gradient and escape within a few dozen steps (Adam first, near step 16); Momentum and NAG need "
        "about 75 and SGD about 125. Leaving the picture downhill is an escape, not a divergence: this "
        "surface has no minimum.",
        "A. Radford's animation, reproduced in Ruder (2016), figure 4b; with Adam, AdaMax, Nadam and "
        "AMSGrad.",
        (RaceLink("Open the race", "saddle", FIRST_ORDER_TEN, 200, (1.0, 0.001), _rates(SADDLE_RATES)),),
    ),
    Classic(
        "monkey-saddle", "The monkey saddle: three ways down",
        "f = x³ − 3xy² is flat in every direction at its centre, with three valleys leading away. From "
        "(1, 0.001) SGD creeps towards the flat centre and lingers (it escapes after about 185 steps); "
        "Momentum and NAG coast straight through the centre into the valley behind it; the adaptive methods "
        "turn into the upper valley within 16–40 steps.",
        "The monkey saddle, a degenerate saddle point (its Hessian is zero at the centre).",
        (RaceLink("Open the race", "monkey_saddle", FIRST_ORDER_TEN, 250, (1.0, 0.001),
                  _rates(SADDLE_RATES)),),
    ),
    Classic(
        "momentum-vs-nag", "Momentum vs NAG, momentum 0.95",
        "Same start, same learning rate, same γ = 0.95. Momentum swings across the narrow ravine again and "
        "again; NAG measures the slope where it is about to land, brakes earlier and settles at the "
        "minimum in about half the steps, with a path about a third shorter.",
        "Advanced gradient descent with animations (the Momentum vs NAG figure).",
        (RaceLink("Open the race", "ravine", ("momentum", "nag"), 300, (-9.0, 2.0), _rates(
            {"momentum": 0.01, "nag": 0.01}, {"momentum": {"momentum": 0.95}, "nag": {"momentum": 0.95}})),),
    ),
    Classic(
        "two-minima", "A local and a global minimum",
        "With one learning rate for all (0.01), every method from this start heads for the nearer, "
        "shallower well on the right (Adagrad slowly), except Momentum and NAG: their velocity carries "
        "them over the pass into the deeper well on the left. Momentum is no guarantee — it helps here "
        "because the pass is low and the run-up long.",
        "Advanced gradient descent with animations (the local and global minimum figure).",
        (RaceLink("Open the race", "two_minima", REFERENCE_SEVEN, 500, (1.9, 1.5),
                  _same_rate(REFERENCE_SEVEN, 0.01)),),
    ),
    Classic(
        "learning-rates", "The same race at three learning rates",
        "One race cannot run an optimizer at three learning rates: the Atlas page puts the three side by "
        "side, and here are also three races on the two-minima surface, identical except for the learning "
        "rate (Adadelta keeps its multiplier of 1: Zeiler's rule has no learning rate, so it descends the "
        "same way in all three). Watch which methods change their minds about the well as η grows, and "
        "which start to rattle.",
        "Advanced gradient descent with animations (performance for different learning rates).",
        LR_COMPARISON,
        atlas_query=ATLAS_LR_QUERY,
    ),
    Classic(
        "newton-saddle", "Newton walks into the saddle",
        "From (1, 0.5) on f = x² − y², Newton's first step lands exactly on the saddle point (0, 0), where "
        "the gradient is zero, and it stays there for good: it jumps to the centre of the quadratic it "
        "fits, and here that centre is the saddle. Saddle-free Newton takes the absolute value of each "
        "curvature, so it goes downhill along y instead, and Adam and SGD drift away from the ridge too.",
        "Dauphin et al. (2014), 'Identifying and attacking the saddle point problem in high-dimensional "
        "non-convex optimization'; Ruder (2016), section 6.",
        (RaceLink("Open the race", "saddle", ("sgd", "adam", "newton", "saddle_free_newton"), 200, (1.0, 0.5),
                  _rates({"sgd": 0.01, "adam": 0.01, "newton": 1.0, "saddle_free_newton": 0.2})),),
    ),
    Classic(
        "newton-rosenbrock", "Newton on Rosenbrock",
        "From the textbook start (−1.2, 1), Newton is at the minimum (1, 1) after 6 steps, to within 1e-8: "
        "it follows the curvature of the banana valley. SGD, with a learning rate small enough to stay "
        "stable on the valley walls, is still crawling along the valley floor after 1000 steps.",
        "Rosenbrock (1960); Nocedal & Wright, Numerical Optimization (2006), chapter 3.",
        (RaceLink("Open the race", "rosenbrock", ("sgd", "adam", "newton"), 1000, (-1.2, 1.0),
                  _rates({"sgd": 0.001, "adam": 0.01, "newton": 1.0})),),
    ),
    Classic(
        "cost-of-curvature", "The cost of curvature",
        "In two dimensions a Newton step is cheap; a network with d weights needs the d × d Hessian and a "
        "linear solve at every step, which is why deep learning uses first-order methods (and Ruder's "
        "overview leaves second-order ones out).",
        "Ruder (2016), section 4; Nocedal & Wright (2006), chapters 3 and 7.",
        (),
        table=(
            ("Per step, d weights", "First-order (SGD … AMSGrad)", "Newton"),
            ("Memory", "O(d): a few numbers per weight", "O(d²): the Hessian"),
            ("Time", "O(d): one gradient", "O(d³): solving H Δθ = −g"),
            ("d = 2 (this app)", "a handful of numbers", "4 numbers, a 2 × 2 solve"),
            ("d = 1,000,000", "a few vectors of 10⁶ numbers (8 MB each)",
             "10¹² numbers (8 TB), ~10¹⁸ operations"),
        ),
    ),
)


def classic(slug: str) -> Classic:
    for c in CLASSICS:
        if c.slug == slug:
            return c
    raise ValueError(f"Unknown classic {slug!r}; choose one of: {', '.join(c.slug for c in CLASSICS)}")


def race_links() -> list[RaceLink]:
    """Every Race-page link of every classic."""
    return [link for c in CLASSICS for link in c.links]
