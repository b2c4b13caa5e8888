"""Configuration validation and the derived fixed-point constants of the shipped networks."""

import math

import pytest

from ec_hw.config import CoreConfig, NetConfig, TrainConfig, config_from_dict, config_to_dict
from ec_hw.fixedpoint import derive


def test_paper_scales_at_defaults():
    net = NetConfig()
    assert net.n_exc == 128
    assert net.r_rec == pytest.approx(0.25)
    assert net.r_out == pytest.approx(5 * math.sqrt(2 / 256))
    assert net.r_in == pytest.approx(2 / math.sqrt(11))
    assert net.n_conn == 256 * 22 + 256 * 256 + 3 * 256


def test_derived_constants_at_defaults():
    fp = derive(NetConfig(), CoreConfig())
    assert (fp.a_syn, fp.b_m, fp.b_out) == (59299, 3196, 3196)
    assert (fp.r_q, fp.vth_q, fp.rate_q, fp.rout_q) == (1024, 4096, 8192, 28963)
    assert fp.isyn_bound < 2 ** 23
    assert fp.rate_bits == 14 and fp.acc_bits == 22 and fp.out_shift == 14


@pytest.mark.parametrize("n,d,a", [(64, 11, 3), (256, 17, 6), (256, 348, 17), (1024, 348, 17)])
def test_shipped_and_larger_networks_fit_their_widths(n, d, a):
    fp = derive(NetConfig(n_neurons=n, obs_dim=d, act_dim=a), CoreConfig())
    assert fp.isyn_bound < 2 ** (CoreConfig().state_bits - 1)
    assert fp.acc_bits <= 25 and 0 < fp.rout_q < 2 ** 17


@pytest.mark.parametrize("kwargs,message", [
    ({"n_neurons": 8}, "n_neurons must be at least 16, not 8"),
    ({"n_neurons": 0}, "n_neurons must be a positive integer, not 0"),
    ({"exc_fraction": 1.0}, "exc_fraction must lie strictly between 0 and 1, not 1.0"),
    ({"obs_dim": -1}, "obs_dim must be a positive integer, not -1"),
    ({"dt": float("nan")}, "dt must be a positive number, not nan"),
])
def test_net_config_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NetConfig(**kwargs)


@pytest.mark.parametrize("kwargs,message", [
    ({"lanes": 3}, "lanes must be a positive power of two, not 3"),
    ({"word_bits": 48}, "word_bits must be a power of two in 8..256, not 48"),
    ({"state_bits": 30}, "state_bits must lie in frac_bits\\+6..25"),
    ({"slots": 0}, "slots must be a positive integer, not 0"),
])
def test_core_config_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CoreConfig(**kwargs)


def test_narrow_state_is_refused_by_the_bounds_check():
    with pytest.raises(ValueError, match="i_syn can reach"):
        derive(NetConfig(), CoreConfig(state_bits=20))


@pytest.mark.parametrize("kwargs,message", [
    ({"pop_size": 1}, "pop_size must be at least 2, not 1"),
    ({"algo": "es", "pop_size": 7}, "pop_size must be even for antithetic ES, not 7"),
    ({"eps": 0.6}, "eps must lie strictly between 0 and 0.5, not 0.6"),
    ({"lr_decay_start": 0}, "lr_decay_start must be a positive integer, not 0"),
    ({"lr": -1.0}, "lr must be a positive number, not -1.0"),
    ({"target": "gpu"}, "target must be one of model, float, sim, fpga, not 'gpu'"),
    ({"network": "mlp"}, "network must be one of snn, gru, lstm, not 'mlp'"),
    ({"network": "gru"}, "network 'gru' needs algo 'es'"),
    ({"algo": "es", "target": "sim"}, "target 'sim' runs EC's 1-bit network only"),
    ({"healthy_reward": "auto"}, "healthy_reward must be True, False or None"),
    ({"antithetic": 1}, "antithetic must be True or False, not 1"),
    ({"fitness_shaping": "softmax"}, "fitness_shaping must be one of ranks, utility, mixed"),
    ({"antithetic": True, "pop_size": 9}, "pop_size must be even for antithetic pairs, not 9"),
])
def test_train_config_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_device_sampling_of_antithetic_pairs_is_left_to_the_device():
    # whether the target draws mirrored pairs is known from its INFO (FEATURE_ANTITHETIC),
    # checked when the first generation runs (tests/train/test_rollout.py)
    assert TrainConfig(antithetic=True, sampling="device").antithetic


def test_round_trip_and_unknown_keys():
    cfg = NetConfig(n_neurons=64, obs_dim=4, act_dim=1)
    assert config_from_dict(NetConfig, config_to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="unknown NetConfig field\\(s\\): bogus"):
        config_from_dict(NetConfig, {"bogus": 1})


@pytest.mark.parametrize("value", ["ray", "auto", "ray://head:10001", "head:6379", "4", "x",
                                   "head:", ":x", "ray:/x"])
def test_one_cluster_address_rule_for_config_and_cli(value):
    """``TrainConfig.cluster`` accepts exactly what ``--workers`` reads as a Ray cluster."""
    import argparse

    from ec_hw.cli import _workers_arg
    from ec_hw.config import is_cluster_address

    try:
        TrainConfig(cluster=value)
        config_ok = True
    except ValueError:
        config_ok = False
    try:
        cli_ok = _workers_arg(value) == value
    except argparse.ArgumentTypeError:
        cli_ok = False
    assert config_ok == is_cluster_address(value) == (cli_ok and not value.isdigit())


def test_one_target_list():
    from ec_hw.cli import _build_parser
    from ec_hw.config import TARGETS
    from ec_hw.train.backends import TARGETS as backend_targets

    assert backend_targets is TARGETS
    parser = _build_parser()
    for t in TARGETS:
        TrainConfig(target=t)
        assert parser.parse_args(["train", "--target", t]).target == t
        assert parser.parse_args(["eval", "run", "--target", t]).target == t
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--target", "gpu"])
    with pytest.raises(ValueError, match="target must be one of model, float, sim, fpga"):
        TrainConfig(target="gpu")
