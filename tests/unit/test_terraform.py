"""The Terraform modules: each charm's (charms/<name>/terraform) deploys that charm and names exactly
the endpoints of its charmcraft.yaml; the product module (bundles/terraform) declares the same
applications, units, placement, options and integrations as bundle.yaml.

No Terraform build with the juju provider can be installed here, so `terraform validate` does not
run: python-hcl2 parses the modules, and the few expressions they use are evaluated below, as
Terraform would at plan time, with the variables' defaults. An expression of another form fails
the test (UnsupportedExpressionError) rather than pass unexamined.
"""

from __future__ import annotations

import copy
import functools
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.lab.model import coerce_option
from tests.lab.paths import REPO_ROOT
from tests.unit import bundle_model
from tests.unit.bundle_model import BUNDLES, DEFAULT_BUNDLE, Application, charm_project, checked, deployed

HCL = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
CHARM_NAMES = sorted(path.parent.name for path in (REPO_ROOT / "charms").glob("*/charmcraft.yaml"))
PRODUCT = Path("bundles") / "terraform"
TERRAFORM_FILES = sorted([*REPO_ROOT.glob("charms/*/terraform/*.tf"), *(REPO_ROOT / PRODUCT).glob("*.tf")])
PRINCIPAL_PLACEMENT = {"units": "${var.machines == null ? var.units : null}", "machines": "${var.machines}"}


class UnsupportedExpressionError(AssertionError):
    """An expression this evaluator does not know: extend it, or keep the module simpler."""


@dataclass
class TerraformModule:
    """A module's blocks, from all its .tf files."""

    directory: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # type -> name -> body
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: list[dict[str, Any]] = field(default_factory=list)  # terraform { } blocks


@functools.cache
def parse(text: str) -> dict[str, Any]:
    """A .tf file's blocks (parsed once per distinct text: the evaluator reads modules often)."""
    return hcl2.loads(text, serialization_options=HCL)


def parse_module(directory: Path) -> TerraformModule:
    module = TerraformModule(directory)
    for path in sorted(directory.glob("*.tf")):
        document = copy.deepcopy(parse(path.read_text()))
        for block in document.get("variable", []):
            module.variables.update(block)
        for block in document.get("resource", []):
            for kind, named in block.items():
                module.resources.setdefault(kind, {}).update(named)
        for block in document.get("module", []):
            module.modules.update(block)
        for block in document.get("output", []):
            module.outputs.update(block)
        module.settings += document.get("terraform", [])
    return module


INTERPOLATION = re.compile(r"\$\{(.*)\}", re.S)
NAME = r"[A-Za-z_][\w-]*"


@dataclass
class Instance:
    """A module called with inputs: evaluates the expression forms the modules use."""

    module: TerraformModule
    inputs: dict[str, Any]

    def evaluate(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self.evaluate(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.evaluate(item) for item in value]
        if not isinstance(value, str) or not (whole := INTERPOLATION.fullmatch(value)):
            return value
        return self.expression(whole.group(1).strip())

    def expression(self, text: str) -> Any:
        if text == "null":
            return None
        if number := re.fullmatch(r"\d+", text):
            return int(number.group())
        if ternary := re.fullmatch(rf"({NAME}\.{NAME}) (==|>) (null|\d+) \? (.+?) : (.+)", text):
            left, operator, right, then, otherwise = ternary.groups()
            value, bound = self.expression(left), self.expression(right)
            holds = value == bound if operator == "==" else value > bound
            return self.expression(then if holds else otherwise)
        if call := re.fullmatch(r"toset\((.+)\)", text):
            return sorted(self.expression(call.group(1)))
        if variable := re.fullmatch(rf"var\.({NAME})", text):
            return self.variable(variable.group(1))
        if splat := re.fullmatch(rf"juju_machine\.({NAME})\[\*\]\.machine_id", text):
            return machine_ids(self, splat.group(1))
        if output := re.fullmatch(rf"module\.({NAME})(?:\[0\])?\.({NAME})(?:\.({NAME}))?", text):
            name, value_name, key = output.groups()
            value = self.child(name).evaluate(self.child(name).module.outputs[value_name]["value"])
            return value[key] if key else value
        if attribute := re.fullmatch(rf"({NAME})\.({NAME})\.({NAME})", text):
            kind, name, attr = attribute.groups()
            if kind in self.module.resources:
                return self.evaluate(self.module.resources[kind][name][attr])
        raise UnsupportedExpressionError(f"{self.module.directory}: cannot evaluate ${{{text}}}")

    def variable(self, name: str) -> Any:
        if name in self.inputs:
            return self.inputs[name]
        declared = self.module.variables[name]
        assert "default" in declared, f"{self.module.directory}: variable {name} has no default and no input"
        return declared["default"]

    def child(self, name: str) -> Instance:
        block = self.module.modules[name]
        inputs = {key: self.evaluate(value) for key, value in block.items() if key not in ("source", "count")}
        return Instance(parse_module((self.module.directory / block["source"]).resolve()), inputs)


def machine_ids(instance: Instance, name: str) -> list[str]:
    """The ids of a counted juju_machine resource's machines (the resource's instances)."""
    count = instance.evaluate(instance.module.resources["juju_machine"][name].get("count", 1))
    return [f"{name}[{index}]" for index in range(int(count))]


def the_application(instance: Instance) -> dict[str, Any]:
    (application,) = instance.module.resources["juju_application"].values()
    return application


def instances(root: Instance, block: dict[str, Any]) -> int:
    """How many instances of a module or resource block there are (its `count`, else one)."""
    return int(root.evaluate(block.get("count", 1)))


def terraform_deployment(product: Path, inputs: dict[str, Any] | None = None) -> tuple[dict[str, Application], set[str]]:
    """The applications and relations the product module declares with these inputs (the
    variables' defaults otherwise), as bundle_model describes a bundle's."""
    root = Instance(parse_module(product), {"model_uuid": "a-model-uuid", **(inputs or {})})
    machines = [machine for name in root.module.resources.get("juju_machine", {}) for machine in machine_ids(root, name)]
    applications: dict[str, Application] = {}
    metadata: dict[str, dict[str, Any]] = {}
    for name, block in root.module.modules.items():
        if not instances(root, block):
            continue
        child = root.child(name)
        spec = child.evaluate(the_application(child))
        charm = spec["charm"][0]["name"]
        declared = (charm_project(charm).get("config") or {}).get("options") or {}
        placed = spec.get("machines") or []
        applications[spec["name"]] = Application(
            charm=charm,
            units=len(placed) if placed else int(spec.get("units") or 0),
            machines=tuple(sorted(machines.index(machine) for machine in placed)),
            options={key: coerce_option(declared, key, value) for key, value in (spec.get("config") or {}).items()},
        )
        metadata[spec["name"]] = charm_project(charm)
    relations: set[str] = set()
    for integration in root.module.resources.get("juju_integration", {}).values():
        if not instances(root, integration):
            continue
        ends = [f"{end['name']}:{end['endpoint']}" for end in root.evaluate(integration["application"])]
        relations |= bundle_model.relation_keys([ends], metadata)
    return applications, relations


def bundle_deployment(overlays: tuple[Path, ...] = ()) -> tuple[dict[str, Application], set[str]]:
    deployment = checked(deployed(DEFAULT_BUNDLE, overlays), DEFAULT_BUNDLE.parent)
    return deployment.applications, deployment.relations


def copy_modules(destination: Path) -> Path:
    """The product module and the charm modules it sources, copied with their layout; the
    product module's copy."""
    for directory in [REPO_ROOT / PRODUCT, *(REPO_ROOT / "charms" / name / "terraform" for name in CHARM_NAMES)]:
        shutil.copytree(directory, destination / directory.relative_to(REPO_ROOT))
    return destination / PRODUCT


def edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text()
    changed, count = re.subn(pattern, replacement, text, count=1, flags=re.S)
    assert count == 1, f"{pattern!r} not in {path}"
    path.write_text(changed)


# --- every file parses; every module has its files ------------------------------------------------


@pytest.mark.parametrize("path", TERRAFORM_FILES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_terraform_file_parses(path: Path):
    assert parse(path.read_text())


@pytest.mark.parametrize("directory", [*(f"charms/{name}/terraform" for name in CHARM_NAMES), str(PRODUCT)])
def test_every_module_has_the_files_canonical_charms_ship(directory: str):
    assert all((REPO_ROOT / directory / name).is_file() for name in MODULE_FILES)
    module = parse_module(REPO_ROOT / directory)
    (juju,) = [settings["required_providers"][0]["juju"] for settings in module.settings if "required_providers" in settings]
    assert juju["source"] == "juju/juju"
    lowest = re.search(r">=\s*(\d+)\.", juju["version"])
    assert lowest and int(lowest.group(1)) >= 1, juju["version"]  # model_uuid and machines: provider 1.0 on
    assert all(spec.get("description") and spec.get("type") for spec in module.variables.values())


# --- each charm's module ---------------------------------------------------------------------


@pytest.mark.parametrize("name", CHARM_NAMES)
def test_a_charm_module_deploys_its_charm_by_model_uuid(name: str):
    module = parse_module(REPO_ROOT / "charms" / name / "terraform")
    assert list(module.resources) == ["juju_application"] and not module.modules
    instance = Instance(module, {"model_uuid": "a-model-uuid"})
    application = instance.evaluate(the_application(instance))
    project = charm_project(name)
    assert application["charm"][0]["name"] == name
    assert application["charm"][0]["base"] == project["base"]
    assert application["name"] == name and application["model_uuid"] == "a-model-uuid"
    assert "model" not in application  # provider 1.0 takes the model's UUID only


@pytest.mark.parametrize("name", CHARM_NAMES)
def test_a_charm_module_outputs_exactly_the_endpoints_of_its_charmcraft_yaml(name: str):
    assert module_endpoints(REPO_ROOT / "charms" / name / "terraform") == charmcraft_endpoints(name)


def module_endpoints(directory: Path) -> dict[str, dict[str, str]]:
    instance = Instance(parse_module(directory), {"model_uuid": "a-model-uuid"})
    return {role: instance.evaluate(instance.module.outputs[role]["value"]) for role in ("provides", "requires")}


def charmcraft_endpoints(name: str) -> dict[str, dict[str, str]]:
    project = charm_project(name)
    return {role: {endpoint: endpoint for endpoint in project.get(role) or {}} for role in ("provides", "requires")}


def test_a_missing_endpoint_in_a_charm_module_is_caught(tmp_path: Path):
    copy_modules(tmp_path)
    copy = tmp_path / "charms" / "ovn-central" / "terraform"
    edit(copy / "outputs.tf", r"\n\s*cos-agent\s*=\s*\"cos-agent\"", "")
    assert module_endpoints(copy) != charmcraft_endpoints("ovn-central")


@pytest.mark.parametrize("name", CHARM_NAMES)
def test_a_subordinate_module_takes_no_units_and_a_principal_takes_units_or_machines(name: str):
    module = parse_module(REPO_ROOT / "charms" / name / "terraform")
    application = next(iter(module.resources["juju_application"].values()))
    placement = {key: application[key] for key in PRINCIPAL_PLACEMENT if key in application}
    if charm_project(name).get("subordinate"):
        assert placement == {} and not {"units", "machines", "constraints"} & set(module.variables)
    else:
        assert placement == PRINCIPAL_PLACEMENT and {"units", "machines", "constraints"} <= set(module.variables)


# --- the product module is bundle.yaml ---------------------------------------------------------


def test_the_product_module_declares_what_bundle_yaml_does():
    assert terraform_deployment(REPO_ROOT / PRODUCT) == bundle_deployment()


def test_with_two_gateways_the_product_module_declares_what_the_ha_gateways_overlay_adds():
    with_gateways = terraform_deployment(REPO_ROOT / PRODUCT, {"gateway_count": 2})
    assert with_gateways == bundle_deployment((BUNDLES / "overlays" / "ha-gateways.yaml",))


MUTATIONS = {
    "an option's value": ("variables.tf", r'election-timer = "16"', 'election-timer = "17"'),
    "an integration dropped": ("main.tf", r'resource "juju_integration" "chassis_certificates" \{.*\n\}\n', ""),
    "a machine fewer": ("variables.tf", r"default     = 3", "default     = 2"),
    "the chassis on machines of their own": ("main.tf", r"(module \"ovn_chassis\".*?)machines   = toset\(juju_machine\.ovn\[\*\]\.machine_id\)",
                                             r"\1units      = 3"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_product_module_that_differs_from_bundle_yaml_is_caught(tmp_path: Path, mutation: str):
    filename, pattern, replacement = MUTATIONS[mutation]
    copy = copy_modules(tmp_path)
    assert terraform_deployment(copy) == bundle_deployment()  # the copy itself matches
    edit(copy / filename, pattern, replacement)
    assert terraform_deployment(copy) != bundle_deployment()


def test_a_gateway_module_that_differs_from_the_ha_gateways_overlay_is_caught(tmp_path: Path):
    copy = copy_modules(tmp_path)
    edit(copy / "variables.tf", r'gateway         = "true"', 'gateway         = "false"')
    assert terraform_deployment(copy, {"gateway_count": 2}) != bundle_deployment((BUNDLES / "overlays" / "ha-gateways.yaml",))


def test_the_product_module_outputs_the_connection_strings_and_how_to_get_the_ca():
    root = Instance(parse_module(REPO_ROOT / PRODUCT), {"model_uuid": "a-model-uuid"})
    outputs = root.module.outputs
    assert {"nb_connection_string", "sb_connection_string", "ca_certificate_command"} <= set(outputs)
    for name, port in (("nb_connection_string", 6641), ("sb_connection_string", 6642)):
        assert f'"ssl:${{machine.hostname}}:{port}"' in outputs[name]["value"]
        assert "for machine in juju_machine.ovn" in outputs[name]["value"]
    command = outputs["ca_certificate_command"]["value"]
    assert command.startswith("juju run -m ${var.model_uuid} ${module.ovn_central.app_name}/leader get-ca-certificate")
