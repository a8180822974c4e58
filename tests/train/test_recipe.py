"""Recipes: YAML and import-path specifications, hashing, seeding and bad input."""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from assay.exceptions import InputError
from assay.train.recipe import Recipe, load_recipe

LOGREG_YAML = """
name: digits-logreg
featurizer: standard_scaler
estimator: sklearn.linear_model.LogisticRegression
params: {C: 0.5, max_iter: 500}
seed: 7
"""


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def test_yaml_builds_a_seeded_pipeline() -> None:
    recipe = Recipe.from_yaml(LOGREG_YAML)
    model = recipe.build()
    assert isinstance(model, Pipeline)
    assert isinstance(model.named_steps["featurizer"], StandardScaler)
    est = model.named_steps["estimator"]
    assert isinstance(est, LogisticRegression)
    assert (est.C, est.max_iter, est.random_state) == (0.5, 500, 7)
    assert recipe.name == "digits-logreg" and recipe.seed == 7


def test_hash_is_sha256_of_canonical_spec_json() -> None:
    recipe = Recipe.from_yaml(LOGREG_YAML)
    canonical = json.dumps(recipe.spec, sort_keys=True, separators=(",", ":"))
    assert recipe.hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert json.loads(json.dumps(recipe.spec)) == recipe.spec  # JSON-safe


def test_hash_tracks_content_not_formatting(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("# a comment\n" + LOGREG_YAML.replace("C: 0.5", "C:   0.5"))
    a, b = Recipe.from_yaml(LOGREG_YAML), Recipe.from_yaml(path)
    assert a.hash == b.hash
    changed = Recipe.from_yaml(LOGREG_YAML.replace("C: 0.5", "C: 0.25"))
    assert changed.hash != a.hash
    assert Recipe.from_yaml(LOGREG_YAML.replace("seed: 7", "seed: 8")).hash != a.hash


def test_spec_round_trip_keeps_the_hash() -> None:
    recipe = Recipe.from_yaml(LOGREG_YAML)
    again = Recipe.from_spec(json.loads(json.dumps(recipe.spec)))
    assert again.hash == recipe.hash
    assert again == recipe and len({again, recipe}) == 1  # equal and hashable by content


def test_build_is_fresh_and_deterministic(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    recipe = Recipe.from_yaml(
        "estimator: sklearn.ensemble.RandomForestClassifier\nparams: {n_estimators: 10}\nseed: 3"
    )
    first, second = recipe.build(), recipe.build()
    assert first is not second
    first.fit(X, y)
    assert not hasattr(second, "classes_")  # fitting one build leaves the other unfitted
    second.fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = Recipe.from_spec({**recipe.spec, "seed": 4}).build().fit(X, y)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


def test_tfidf_featurizer_turns_yaml_lists_into_tuples() -> None:
    recipe = Recipe.from_yaml(
        "featurizer: tfidf\nfeaturizer_params: {ngram_range: [1, 2]}\n"
        "estimator: sklearn.linear_model.LogisticRegression"
    )
    model = recipe.build()
    assert model.named_steps["featurizer"].ngram_range == (1, 2)
    texts = ["good food", "bad food", "very good", "very bad"] * 3
    model.fit(texts, [1, 0, 1, 0] * 3)
    assert list(model.predict(["good", "bad"])) == [1, 0]


@pytest.mark.parametrize(
    ("yaml_text", "fragments"),
    [
        (LOGREG_YAML + "colour: red\n", ["'colour'", "featurizer", "estimator"]),
        (LOGREG_YAML.replace("C: 0.5", "Cee: 0.5"), ["'Cee'", "max_iter", "class_weight"]),
        ("featurizer: none\nparams: {}", ["'estimator'"]),
        ("estimator: os.system", ["os.system", "not allowed"]),
        ("estimator: sklearn.linear_model.Nope", ["sklearn.linear_model.Nope", "imported"]),
        ("estimator: sklearn.preprocessing.StandardScaler", ["not a scikit-learn classifier"]),
        (
            "featurizer: wavelets\nestimator: sklearn.linear_model.LogisticRegression",
            ["'wavelets'", "standard_scaler"],
        ),
        (
            "featurizer: tfidf\nfeaturizer_params: {ngrams: 2}\n"
            "estimator: sklearn.linear_model.LogisticRegression",
            ["'ngrams'", "ngram_range"],
        ),
        ("estimator: [unclosed", ["not valid YAML"]),
        ("- a\n- list", ["mapping"]),
        (LOGREG_YAML.replace("seed: 7", "seed: -1"), ["'seed'"]),
    ],
)
def test_bad_yaml_is_refused_clearly(yaml_text: str, fragments: list[str]) -> None:
    with pytest.raises(InputError) as info:
        Recipe.from_yaml(yaml_text)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_missing_yaml_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        Recipe.from_yaml(tmp_path / "absent.yaml")


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write importable recipe modules under a fresh folder on sys.path."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(name: str, body: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


FACTORY = """
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

def make(seed=0):
    return make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators={n}, random_state=seed))

def make_unseeded():
    return RandomForestClassifier(n_estimators=5)

ESTIMATOR = RandomForestClassifier(n_estimators=3)
NOT_A_MODEL = 42

def broken():
    raise RuntimeError("no GPU here")

def returns_string():
    return "model"
"""


def test_import_path_factory_gets_the_seed(user_module) -> None:
    mod = user_module("recipes_a", FACTORY.format(n=5))
    recipe = Recipe.from_import_path(f"{mod}:make", seed=11)
    model = recipe.build()
    assert model.steps[-1][1].random_state == 11
    assert recipe.spec["kind"] == "import" and recipe.spec["import_path"] == f"{mod}:make"
    unseeded = Recipe.from_import_path(f"{mod}:make_unseeded", seed=4).build()
    assert unseeded.random_state == 4  # left-unset random_state takes the recipe seed
    estimator = Recipe.from_import_path(f"{mod}:ESTIMATOR").build()
    assert estimator is not sys.modules[mod].ESTIMATOR  # a clone, never the shared object


def test_import_path_hash_covers_module_source(user_module) -> None:
    a = Recipe.from_import_path(f"{user_module('recipes_b', FACTORY.format(n=5))}:make")
    b = Recipe.from_import_path(f"{user_module('recipes_c', FACTORY.format(n=5))}:make")
    c = Recipe.from_import_path(f"{user_module('recipes_d', FACTORY.format(n=6))}:make")
    source = Path(str(sys.modules["recipes_b"].__file__)).read_bytes()
    assert a.spec["source_sha256"] == hashlib.sha256(source).hexdigest()
    assert a.spec["source_sha256"] == b.spec["source_sha256"]
    assert c.spec["source_sha256"] != a.spec["source_sha256"]
    assert Recipe.from_spec(a.spec).hash == a.hash


@pytest.mark.parametrize(
    ("attribute", "fragment"),
    [
        ("absent", "no attribute 'absent'"),
        ("NOT_A_MODEL", "points at a int"),
    ],
)
def test_bad_import_attribute_is_refused(user_module, attribute: str, fragment: str) -> None:
    mod = user_module("recipes_e", FACTORY.format(n=5))
    with pytest.raises(InputError, match=fragment):
        Recipe.from_import_path(f"{mod}:{attribute}")


@pytest.mark.parametrize(
    ("attribute", "fragment"),
    [("broken", "RuntimeError: no GPU here"), ("returns_string", "not an estimator")],
)
def test_failing_factory_is_refused_on_build(user_module, attribute: str, fragment: str) -> None:
    mod = user_module("recipes_f", FACTORY.format(n=5))
    recipe = Recipe.from_import_path(f"{mod}:{attribute}")
    with pytest.raises(InputError, match=fragment):
        recipe.build()


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("no_such_module_xyz:make", "importing module 'no_such_module_xyz' failed"),
        ("missing_colon", "must look like 'package.module:attribute'"),
        (":make", "must look like"),
    ],
)
def test_bad_import_path_is_refused(path: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        Recipe.from_import_path(path)


def test_module_that_fails_on_import_names_the_error(user_module) -> None:
    mod = user_module("recipes_g", "raise ImportError('needs torch')\n")
    with pytest.raises(InputError, match="needs torch"):
        Recipe.from_import_path(f"{mod}:make")


def test_load_recipe_dispatches(tmp_path: Path, user_module) -> None:
    path = tmp_path / "r.yml"
    path.write_text(LOGREG_YAML)
    assert load_recipe(path).hash == Recipe.from_yaml(LOGREG_YAML).hash
    assert load_recipe(str(path)).hash == Recipe.from_yaml(LOGREG_YAML).hash
    assert load_recipe(LOGREG_YAML).name == "digits-logreg"
    mod = user_module("recipes_h", FACTORY.format(n=5))
    assert load_recipe(f"{mod}:make", seed=2).seed == 2
    recipe = Recipe.from_yaml(LOGREG_YAML)
    assert load_recipe(recipe) is recipe
    assert load_recipe(recipe.spec).hash == recipe.hash


def test_changed_source_warns_when_a_stored_spec_is_reloaded(user_module) -> None:
    mod = user_module("recipes_i", FACTORY.format(n=5))
    stored = {**Recipe.from_import_path(f"{mod}:make").spec, "source_sha256": "0" * 64}
    with pytest.warns(UserWarning, match="changed since this spec was recorded"):
        Recipe.from_spec(stored)


def test_modality_featurizer_runs_the_modality(tmp_path: Path) -> None:
    modalities = pytest.importorskip("assay.modalities")
    if "image" not in modalities.available_modalities():
        pytest.skip("the image modality is not registered")
    from PIL import Image

    d = load_digits()
    paths = []
    for i in range(40):
        path = tmp_path / f"{i}.png"
        Image.fromarray((d.images[i] * 15).astype(np.uint8)).save(path)
        paths.append(str(path))
    recipe = Recipe.from_yaml(
        "featurizer: image\nestimator: sklearn.linear_model.LogisticRegression\n"
        "params: {max_iter: 500}"
    )
    model = recipe.build().fit(paths, d.target[:40])
    expected = modalities.get_modality("image").featurize(paths)
    np.testing.assert_allclose(model.named_steps["featurizer"].transform(paths), expected)
    with pytest.raises(InputError, match="modality 'image' has no parameter 'colour'"):
        Recipe.from_yaml(
            "featurizer: image\nfeaturizer_params: {colour: 1}\n"
            "estimator: sklearn.linear_model.LogisticRegression"
        )


def test_tfidf_recipes_read_raw_texts_also_as_one_column_table() -> None:
    import pandas as pd
    from sklearn.base import clone

    recipe = Recipe.from_yaml(
        "featurizer: tfidf\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0"
    )
    assert recipe.reads_text
    assert not Recipe.from_yaml(LOGREG_YAML).reads_text
    rng = np.random.default_rng(0)
    good, bad = ["good", "great", "fine", "lovely"], ["bad", "awful", "poor", "broken"]
    texts = [" ".join(rng.choice(good if k % 2 else bad, 3)) for k in range(40)]
    y = np.arange(40) % 2
    as_list = recipe.build().fit(texts, y)
    as_table = clone(recipe.build()).fit(pd.DataFrame({"text": texts}), y)
    table = pd.DataFrame({"text": ["great fine", "awful poor"]})
    np.testing.assert_allclose(
        as_table.predict_proba(table), as_list.predict_proba(list(table["text"]))
    )
    assert list(as_table.predict(table)) == [1, 0]
    with pytest.raises(InputError, match="raw texts"):
        recipe.build().fit(rng.normal(size=(40, 8)), y)  # embeddings, not texts
    with pytest.raises(InputError, match="one text column"):
        recipe.build().fit(pd.DataFrame({"a": texts, "b": texts}), y)


def test_a_yaml_name_that_differs_from_the_registered_name_is_refused(tmp_path: Path) -> None:
    """QA: `recipe add lr file.yaml` with `name: other` gave one model a second hash."""
    body = "estimator: sklearn.linear_model.LogisticRegression\nparams: {C: 0.5}\n"
    path = tmp_path / "r.yaml"
    path.write_text("name: other\n" + body)
    with pytest.raises(InputError, match=r"names the recipe 'other' but it is registered as 'lr'"):
        load_recipe(path, name="lr")
    assert load_recipe(path, name="other").name == "other"
    path.write_text(body)  # no name in the file: the hash does not depend on NAME
    assert load_recipe(path, name="lr").hash == load_recipe(path, name="lr2").hash
