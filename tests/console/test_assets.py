"""The consoles' files come from the app itself, the vendor ones at the versions the lock pins."""

from __future__ import annotations

import json

from console import assets


def test_the_barcode_reader_is_served_at_the_version_the_lock_file_pins(client):
    pinned = assets.pinned_versions()["zxing-wasm"]
    manifest = assets.NODE_MODULES / "zxing-wasm" / "package.json"
    assert json.loads(manifest.read_text())["version"] == pinned

    with client.get(assets.vendor_url("zxing_reader.wasm")) as wasm:
        assert wasm.status_code == 200
        assert wasm.mimetype == "application/wasm"
        assert "immutable" in wasm.headers["Cache-Control"]
    with client.get(assets.vendor_url("zxing-reader.js")) as script:
        assert script.status_code == 200


def test_another_version_or_an_unlisted_file_of_a_package_is_not_served(client):
    assert client.get("/console/vendor/zxing-wasm@0.0.1/zxing_reader.wasm").status_code == 404
    assert client.get("/console/vendor/zxing-wasm@3.1.6/package.json").status_code == 404
    refused = client.get("/console/vendor/axe-core@4.14.1/axe.min.js")
    assert refused.status_code == 404
    assert refused.get_json()["code"] == "not_found"


def test_every_page_loads_only_files_the_app_serves(client):
    for path in ("/console/", "/gate/", "/hospital/"):
        html = client.get(path).get_data(as_text=True)
        assert "http://" not in html and "https://" not in html, path
        for address in ("/console/static/console.css", assets.vendor_url("zxing-reader.js")):
            assert address in html
            with client.get(address) as response:
                assert response.status_code == 200
