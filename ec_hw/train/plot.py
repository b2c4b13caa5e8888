"""Learning curves of run directories (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

from .checkpoint import CheckpointError, read_config, read_metrics

__all__ = ["plot_runs"]


def plot_runs(run_dirs: list[Path], out: Path) -> None:
    """Plot mean / max population return and the deterministic return per generation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for run in run_dirs:
        cfg, net, _, _ = read_config(run)
        rows = read_metrics(run)
        if not rows:
            raise CheckpointError(f"{run} has no metrics yet")
        g = [r["generation"] for r in rows]
        steps = [r["total_env_steps"] / 1e6 for r in rows]
        label = f"{cfg.method} {cfg.target} seed {cfg.seed}"
        for ax, x in zip(axes, (g, steps), strict=True):
            (line,) = ax.plot(x, [r["mean_return"] for r in rows], label=f"{label}: pop mean")
            ax.plot(x, [r["max_return"] for r in rows], ls=":", color=line.get_color(),
                    label=f"{label}: pop max")
            det = [(xi, r["det_return"]) for xi, r in zip(x, rows, strict=True)
                   if r.get("det_return") is not None]
            if det:
                ax.plot(*zip(*det, strict=True), ls="--", color=line.get_color(),
                        label=f"{label}: rho > 0.5")
    axes[0].set_xlabel("generation")
    axes[1].set_xlabel("env steps (millions)")
    for ax in axes:
        ax.set_ylabel("episode return (env's true reward)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{cfg.env_id}: {net.n_neurons} LIF neurons, 1-bit connections")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
