"""The head cache: fitted heads stored as arrays under a digest of what they were fitted on, loaded by
every later process. The fast tests fit small arrays; the slow ones fit the real heads on the models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import ComplaintCues
from pipeline.resources import HeadCache, canonical, digest, read_arrays

REPO = Path(__file__).resolve().parents[1]


def arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"weights": rng.standard_normal((3, 4)), "keys": np.array(["a", "bb", "ccc"])}


class Fits:
    """A fit that counts its calls."""

    def __init__(self, seed: int = 0):
        self.calls = 0
        self.seed = seed

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        return arrays(self.seed)


def test_a_miss_fits_and_stores_and_a_later_process_loads(tmp_path) -> None:
    fit = Fits()
    first = HeadCache(tmp_path, lambda: "models-a").fitted(("head", 1.0), fit, dict)
    assert fit.calls == 1 and len(list(tmp_path.glob("*.npz"))) == 1
    again = Fits()
    loaded = HeadCache(tmp_path, lambda: "models-a").fitted(("head", 1.0), again, dict)
    assert again.calls == 0
    assert loaded.keys() == first.keys()
    assert all(np.array_equal(loaded[name], first[name]) for name in first)


def test_a_head_is_built_once_per_key_in_a_process(tmp_path) -> None:
    cache, fit = HeadCache(tmp_path, lambda: "models-a"), Fits()
    assert cache.fitted("head", fit, dict) is cache.fitted("head", fit, dict)
    assert fit.calls == 1


@pytest.mark.parametrize(("key", "identity"), [(("head", 2.0), "models-a"), (("head", 1.0), "models-b")])
def test_another_key_or_other_models_fit_again(tmp_path, key, identity) -> None:
    HeadCache(tmp_path, lambda: "models-a").fitted(("head", 1.0), Fits(), dict)
    fit = Fits(seed=1)
    HeadCache(tmp_path, lambda: identity).fitted(key, fit, dict)
    assert fit.calls == 1 and len(list(tmp_path.glob("*.npz"))) == 2


def test_the_digest_of_a_set_is_the_same_in_every_process() -> None:
    """Sets iterate in an order that changes with the string hash seed (pydantic's JSON of them too): a
    key that held one would never be found again by the next process."""
    code = textwrap.dedent("""
        from pipeline.config import ComplaintCues
        from pipeline.resources import digest
        print(digest(ComplaintCues(words=frozenset(["환불", "배송", "고장", "로그인", "결제", "지연"]))))
    """)
    digests = {subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
               for seed in range(4)}
    assert len(digests) == 1


def test_a_key_keeps_the_order_of_a_mapping_and_refuses_what_it_cannot_digest() -> None:
    assert digest({"a": 1, "b": 2}) != digest({"b": 2, "a": 1})  # row order of a head follows the taxonomy
    assert canonical(ComplaintCues(words=frozenset({"b", "a"}))) == canonical(ComplaintCues(words={"a", "b"}))
    with pytest.raises(TypeError, match="cannot be keyed on a PosixPath"):
        digest(("head", Path("phrases.csv")))


def test_a_failed_fit_stores_nothing(tmp_path) -> None:
    def boom() -> dict[str, np.ndarray]:
        raise RuntimeError("encoder went away")

    with pytest.raises(RuntimeError, match="encoder went away"):
        HeadCache(tmp_path, lambda: "models-a").fitted("head", boom, dict)
    assert [p.name for p in tmp_path.iterdir()] == [".fitting.lock"]


def test_an_unreadable_file_is_fitted_again_and_replaced(tmp_path, caplog) -> None:
    cache = HeadCache(tmp_path, lambda: "models-a")
    path = cache.path("head")
    path.write_bytes(b"PK\x03\x04 cut short")
    fit = Fits()
    HeadCache(tmp_path, lambda: "models-a").fitted("head", fit, dict)
    assert fit.calls == 1 and "cannot be read" in caplog.text
    assert np.array_equal(read_arrays(path)["weights"], arrays()["weights"])


FIT_IN_A_PROCESS = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import numpy as np
    from pipeline.resources import HeadCache

    def slow_fit():
        time.sleep(1.0)
        Path(sys.argv[2]).touch()  # one file per fit: the test counts them
        return {"weights": np.arange(2_000_000, dtype=np.float64)}

    head = HeadCache(Path(sys.argv[1]), lambda: "models-a").fitted("head", slow_fit, dict)
    print(json.dumps(float(head["weights"].sum())))
""")


def test_two_processes_fit_a_missing_head_once_and_both_read_it_whole(tmp_path) -> None:
    cache = tmp_path / "heads"
    processes = [subprocess.Popen([sys.executable, "-c", FIT_IN_A_PROCESS, str(cache),
                                   str(tmp_path / f"fit-{i}")], cwd=REPO, stdout=subprocess.PIPE, text=True)
                 for i in range(2)]
    sums = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert sums == [float(np.arange(2_000_000).sum())] * 2
    assert len(list(tmp_path.glob("fit-*"))) == 1
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [HeadCache(
        cache, lambda: "models-a").path("head").name]  # no temporary file left beside it
