"""Recipes validate on load and errors name the file and the field."""

import pytest

from schemas.recipe import RecipeError, load_recipe


def test_sample_recipe_loads(sample_recipe_path):
    r = load_recipe(sample_recipe_path)
    assert r.sources and r.sampling.fraction > 0
    assert len(r.content_hash()) == 64


def test_hash_ignores_yaml_layout(tmp_path, sample_recipe_path):
    text = sample_recipe_path.read_text()
    other = tmp_path / "same.yaml"
    other.write_text("# a comment\n\n" + text)
    assert load_recipe(other).content_hash() == load_recipe(sample_recipe_path).content_hash()


@pytest.mark.parametrize(
    "body,needle",
    [
        ("name: x\nversion: 1\nsources: []\n", "field 'sources'"),
        ("name: x\nversion: 1\nsources:\n  - {name: a, path: p, format: csv}\n", "field 'sources.0.format'"),
        (
            "name: x\nversion: 1\nsources:\n  - {name: a, path: p, format: jsonl}\nsampling: {fraction: 2}\n",
            "field 'sampling.fraction'",
        ),
        ("name: x\nversion: 1\nsources:\n  - {name: a, path: p, format: jsonl}\nbogus: 1\n", "field 'bogus'"),
        ("name: [unclosed\n", "not valid YAML"),
        ("- just a list\n", "must be a YAML mapping"),
    ],
)
def test_bad_recipes_name_file_and_field(tmp_path, body, needle):
    p = tmp_path / "bad.yaml"
    p.write_text(body)
    with pytest.raises(RecipeError) as exc:
        load_recipe(p)
    assert str(p) in str(exc.value) and needle in str(exc.value)


def test_missing_recipe_file(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "../up"])
def test_the_release_folder_name_cannot_escape_the_releases_root(tmp_path, name):
    p = tmp_path / "r.yaml"
    p.write_text(
        f"name: x\nversion: 1\nsources:\n  - {{name: a, path: p, format: jsonl}}\npublish: {{dataset: '{name}'}}\n"
    )
    with pytest.raises(RecipeError) as exc:
        load_recipe(p)
    assert "field 'publish.dataset'" in str(exc.value)
