"""EC for image classification: fitness on a shared minibatch, accuracy on the held-out split.

A member is evaluated on an image by presenting the encoded image as the constant observation
of one env step (``NetConfig.substeps`` substeps) from the zero state and reading the class
scores out after the last substep: the readout ``a`` in [-1, 1] per class (the actions), the
logits ``BETA * a``. Per generation every member sees the same minibatch of
:data:`BATCH` training images, drawn from the generation seed; its fitness is the negative
mean cross-entropy of the logits (smooth, so ranks separate members that classify the same
images; :data:`FITNESS`), its reported "return" the minibatch accuracy in percent. The
deterministic network (rho > 0.5) is evaluated on the whole held-out split every generation
(360 presentations); its "return" is the held-out accuracy in percent. ``steps`` count image
presentations, so the trainer's env-step budget (``--max-env-steps``) and ``ec-hw plot`` count
presentations.

Every target goes through the :class:`~ec_hw.train.evaluator.Backend` interface: load a member
into a slot (or sample it there), reset the slot, step it once with the image. On
``--target model`` the same golden kernel runs batched over members x images
(:func:`ec_hw.model.images.present_images`), which is bit-identical to that loop.
"""

from __future__ import annotations

import numpy as np

from ..config import CoreConfig, NetConfig
from ..train.evaluator import EvalJob, EvalResult, Evaluator
from .data import Dataset

__all__ = ["task_net", "encode_images", "minibatch", "cross_entropy", "margin", "accuracy",
           "ClassifyEvaluator", "BATCH", "BETA", "INPUT_GAIN", "FITNESS"]

BATCH = 128
"""Training images per generation (the same for every member)."""
BETA = 4.0
"""Logit scale: logits = BETA * readout, readout in [-1, 1]."""
INPUT_GAIN = 1.0
"""Input current of a full-ink pixel (pixel value 16) through one connection, in units of the
firing threshold."""
FITNESS = "ce"
"""``ce``: fitness = -mean cross-entropy (:func:`cross_entropy`); ``margin``: :func:`margin`
(measured worse, docs/classification.md section 3)."""
_TAG = 0xD1617


def task_net(dataset: Dataset, n_neurons: int = 512, topology: str = "mixer") -> NetConfig:
    """The spiking network of a classification task: an MLP-Mixer (:mod:`ec_hw.topology`) of
    fast LIF neurons (dt 1 ms, tau_syn 1 ms, tau_m 4 ms, tau_out 4 ms, 16 substeps per image),
    with ``rec_gain`` 8 (layer fan-ins of 2T and 2C need it for spikes to cross a layer) and
    ``out_gain`` 0.25 (a readout summing hundreds of neurons saturates at the authors' scale).
    """
    return NetConfig(n_neurons=n_neurons, obs_dim=dataset.n_pixels, act_dim=dataset.n_classes,
                     substeps=16, dt=1.0, tau_syn=1.0, tau_m=4.0, tau_out=4.0, rec_gain=8.0,
                     out_gain=0.25, topology=topology)


def encode_images(x: np.ndarray, net: NetConfig, core: CoreConfig) -> np.ndarray:
    """Pixels in [0, 1] as the core's observation encoding ``x_q`` (int32, Q.frac_bits,
    ``INPUT_GAIN * vth`` at full ink, saturated to ``obs_bits``)."""
    from ..fixedpoint import derive

    fp = derive(net, core)
    lim = 1 << (fp.obs_bits - 1)
    q = np.rint(np.asarray(x, np.float64) * INPUT_GAIN * net.vth * (1 << fp.frac_bits))
    return np.clip(q, -lim, lim - 1).astype(np.int32)


def minibatch(gen_seed: int, n_train: int, batch: int = BATCH) -> np.ndarray:
    """Indices of generation ``gen_seed``'s training images (sorted, without repeats)."""
    rng = np.random.Generator(np.random.Philox(key=(int(gen_seed) << 20) ^ _TAG))
    return np.sort(rng.choice(n_train, size=min(batch, n_train), replace=False))


def cross_entropy(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean cross-entropy per member of logits ``BETA * scores`` (M, K, C) against labels (K,)."""
    z = BETA * np.asarray(scores, np.float64)
    zmax = z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z - zmax).sum(axis=-1)) + zmax[..., 0]
    picked = np.take_along_axis(z, np.broadcast_to(labels[None, :, None],
                                                   z.shape[:2] + (1,)), axis=-1)[..., 0]
    return (lse - picked).mean(axis=-1)


def margin(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean per member of the label's score minus the mean score of the other classes.

    Linear in the scores, so, unlike the cross-entropy of a random network's noisy scores, it
    does not reward a silent readout (all scores 0 give 0, as random scores do on average).
    """
    s = np.asarray(scores, np.float64)
    c = s.shape[-1]
    picked = np.take_along_axis(s, np.broadcast_to(labels[None, :, None],
                                                   s.shape[:2] + (1,)), axis=-1)[..., 0]
    return (picked - (s.sum(axis=-1) - picked) / (c - 1)).mean(axis=-1)


def accuracy(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Fraction per member of images whose highest score (first on ties) is the label."""
    return (np.argmax(scores, axis=-1) == labels[None, :]).mean(axis=-1)


class ClassifyEvaluator(Evaluator):
    """Evaluate members on images through a backend of any target.

    Parameters
    ----------
    spec : BackendSpec
        The target (model, float, sim, fpga) and network.
    dataset : Dataset
    batched : bool
        On ``--target model``, run :func:`~ec_hw.model.images.present_images` over members x
        images instead of the slot loop (bit-identical; default True).
    """

    def __init__(self, spec, dataset: Dataset, batched: bool = True):
        from ..model.core import FixedNet
        from ..train.backends import make_backend

        self.spec, self.data = spec, dataset
        self.backend = make_backend(spec)
        self._fx = FixedNet(spec.net, spec.core)
        self._batched = batched and spec.target == "model"
        self.x_train = encode_images(dataset.x_train, spec.net, spec.core)
        self.x_test = encode_images(dataset.x_test, spec.net, spec.core)

    # -- readouts -----------------------------------------------------------------------------
    def class_scores(self, x_q: np.ndarray, genomes: np.ndarray | None = None,
                     job: EvalJob | None = None) -> np.ndarray:
        """Readouts in [-1, 1], (M, K, A), of explicit ``genomes`` or of ``job``'s members."""
        if genomes is None and (self._batched or job.sampling == "host"):
            genomes = self._sample(job)
        if self._batched:
            from ..fixedpoint import action_to_unit
            from ..model.images import present_images

            return action_to_unit(present_images(self._fx.p, self._fx.lay, x_q, genomes),
                                  self._fx.fp)
        return self._slot_loop(x_q, genomes, job)

    def _sample(self, job: EvalJob) -> np.ndarray:
        from ..model.sampler import sample_members

        return sample_members(job.gen_seed, job.member_ids, job.rho_q, self._fx.layout,
                              job.antithetic)

    def _slot_loop(self, x_q, genomes, job) -> np.ndarray:
        """Member-major over (member, image) pairs, a slot per pair; a slot is (re)loaded or
        (re)sampled only when its member changes."""
        be = self.backend
        n_m = genomes.shape[0] if genomes is not None else len(job.member_ids)
        k_img, s = x_q.shape[0], be.slots
        out = np.zeros((n_m, k_img, self.spec.net.act_dim))
        held = np.full(s, -1, np.int64)
        if genomes is None:
            be.load_rho(job.rho_q)
        pairs = [(m, k) for m in range(n_m) for k in range(k_img)]
        for c0 in range(0, len(pairs), s):
            chunk = pairs[c0:c0 + s]
            n = len(chunk)
            ms = np.array([m for m, _ in chunk], np.int64)
            ks = np.array([k for _, k in chunk], np.int64)
            todo = np.flatnonzero(held[:n] != ms)
            if todo.size:
                if genomes is None:
                    be.sample(job.gen_seed, job.member_ids[ms[todo]], todo)
                else:
                    be.load(genomes[ms[todo]], todo)
                held[todo] = ms[todo]
            active = np.zeros(s, bool)
            active[:n] = True
            be.reset(active)
            obs = np.zeros((s, x_q.shape[1]), np.int32)
            obs[:n] = x_q[ks]
            out[ms, ks] = be.step(obs, active)[:n]
        return out

    # -- Evaluator ----------------------------------------------------------------------------
    def evaluate(self, job: EvalJob) -> EvalResult:
        m = len(job.member_ids)
        if job.genomes is not None:  # the deterministic network: the held-out split
            x, y = self.x_test, self.data.y_test
            uniq, inv = np.unique(job.genomes, axis=0, return_inverse=True)
            scores = self.class_scores(x, uniq)
            acc, ce = accuracy(scores, y)[inv.ravel()], cross_entropy(scores, y)[inv.ravel()]
            first = np.zeros(m, bool)
            first[np.unique(inv.ravel(), return_index=True)[1]] = True
            steps = np.where(first, len(y), 0)
        else:
            idx = minibatch(job.gen_seed, len(self.data.y_train))
            x, y = self.x_train[idx], self.data.y_train[idx]
            scores = self.class_scores(x, job=job)
            acc, ce = accuracy(scores, y), cross_entropy(scores, y)
            if FITNESS == "margin":
                ce = -margin(scores, y)
            steps = np.full(m, len(y))
        d = self.spec.net.obs_dim
        return EvalResult(returns=100.0 * acc, fitness=-ce, steps=steps.astype(np.int64),
                          obs_count=np.zeros(m), obs_sum=np.zeros((m, d)),
                          obs_sumsq=np.zeros((m, d)))

    def close(self) -> None:
        self.backend.close()
