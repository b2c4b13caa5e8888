"""Record one episode of a run's deterministic network to a video, when a renderer exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import EcHwError

__all__ = ["record_episode"]


def record_episode(trainer, seed: int, out: Path, best: bool = False) -> Path:
    """Render one episode of the deployed network (``best``: the run's best one; MuJoCo
    offscreen: EGL or OSMesa) and write it with imageio."""
    import gymnasium as gym

    from ..fixedpoint import derive, normalize_obs, quantize_obs
    from .backends import make_backend
    from .envs import unit_to_action
    from .local import InProcessEvaluator

    ev = trainer.evaluator
    if not isinstance(ev, InProcessEvaluator):
        raise EcHwError("video recording needs an in-process evaluator")
    try:
        env = gym.make(trainer.cfg.env_id, render_mode="rgb_array")
        obs, _ = env.reset(seed=seed)
        frame0 = env.render()
    except Exception as exc:  # noqa: BLE001 - any renderer failure means "no renderer here"
        raise EcHwError(f"no offscreen renderer available for video ({type(exc).__name__}: "
                        f"{exc}); set MUJOCO_GL=egl or osmesa with the library installed") from None
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise EcHwError("video needs imageio (pip install imageio[ffmpeg])") from None
    from dataclasses import replace

    backend = make_backend(replace(ev.spec, slots=1))
    backend.load(trainer.deterministic_params(best)[None])
    backend.reset(np.ones(1, bool))
    fp = derive(trainer.net, trainer.core)
    st = trainer.deployed_state(best)
    frames = [frame0]
    low, high = env.action_space.low, env.action_space.high
    done = False
    t = 0
    while not done and t < trainer.cfg.max_episode_steps:
        o = obs[None]
        enc = (quantize_obs(o, st.obs_mean, st.obs_std, fp) if backend.encoding == "fixed"
               else normalize_obs(o, st.obs_mean, st.obs_std))
        a = backend.step(enc, np.ones(1, bool))[0]
        obs, _, term, trunc, _ = env.step(unit_to_action(a, low, high))
        frames.append(env.render())
        done = term or trunc
        t += 1
    env.close()
    backend.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fps = int(env.metadata.get("render_fps", 30))
    if out.suffix.lower() != ".gif":
        try:
            imageio.mimsave(out, frames, fps=fps)
            return out
        except Exception:  # noqa: BLE001 - no MP4 writer plugin (imageio[ffmpeg]) installed
            out = out.with_suffix(".gif")
            print(f"no MP4 writer installed (pip install imageio[ffmpeg]); writing {out}")
    imageio.mimsave(out, frames, duration=1000 / fps, loop=0)
    return out
