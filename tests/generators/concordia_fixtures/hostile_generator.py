"""A Concordia-protocol class that probes the sandbox from inside stage 1 (test fixture)."""

import os

from concordia.language_model import language_model

PROBES = {
    "read_project": lambda root: open(os.path.join(root, "README.md")).read(50),
    "list_project": lambda root: os.listdir(root),
    "read_concordia_source_dir_parent": lambda root: (
        os.listdir(os.path.dirname(os.path.dirname(language_model.__file__))) and os.listdir("/root")
    ),
    "write_tmp": lambda root: open("/tmp/pe_concordia_escape.txt", "w").write("x"),
    "write_project": lambda root: open(os.path.join(root, "escape.txt"), "w").write("x"),
}


class Prober:
    def __init__(self, model):
        self.model = model

    def generate_diverse_persona_characteristics(self, initial_context, diversity_axes, num_personas):
        root = initial_context.split("ROOT=")[1].split()[0] if "ROOT=" in initial_context else "/work/main"
        results = {}
        for name, probe in PROBES.items():
            try:
                probe(root)
                results[name] = "ok"
            except Exception as exc:  # noqa: BLE001
                results[name] = type(exc).__name__
        with open("own_file.txt", "w") as fh:  # the working directory stays writable
            fh.write("mine")
        results["write_cwd"] = open("own_file.txt").read()
        return [{"name": "Probe", "description": "probe", "results": results}]

    def generate_single_persona_memories(self, persona_details):
        return ["nothing"]
