"""Copy images between registries through an OCI image layout directory.

Pushes two images into one registry, exports them to a layout directory (the format skopeo,
oras and podman read and write), and imports that directory into a second, on-disk registry.

Run:  python examples/python/layout_mirror.py [DATA_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


import berth


def main(data_dir: str | None = None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        layout = Path(tmp) / "layout"
        with berth.open("memory://") as source:
            source.create_project("team")  # content only enters existing projects
            for tag in ("1.0", "2.0"):
                source.push_image(f"team/app:{tag}", layers=[f"layer of {tag}".encode()], config={"os": "linux"})
                digest = source.export_layout(f"team/app:{tag}", layout)
                print(f"exported team/app:{tag} ({digest[:19]}…)")
        with berth.open(data_dir or str(Path(tmp) / "mirror")) as mirror:
            if not any(p["name"] == "mirror" for p in mirror.projects(q="name=mirror")["items"]):
                mirror.create_project("mirror")
            for m in mirror.import_layout(layout, "mirror/app"):
                print(f"imported {m.digest[:19]}… as {m.tags}")
            tags = mirror.list_tags("mirror/app")
            print("mirror/app tags:", tags)
            return 0 if tags == ["1.0", "2.0"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
