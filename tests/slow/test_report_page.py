"""`dvc plots show` renders a page a person can read: checked in a real headless Chromium."""

import json
import re
import shutil
import subprocess
import tarfile
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from helpers import dvc

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CDN_SCRIPT = re.compile(r"https://cdn\.jsdelivr\.net/npm/([\w-]+)@([\d.]+)")
VEGA_CHARTS = 8  # loss and validation loss per epoch (DVCLive); counts and shares of each of 3 confusion matrices
IMAGES = 9  # reconstructions, 3 heatmaps, purity bars, code map, 2 centre rows, typical members


def local_copy_of_scripts(page):
    """Point the page's CDN scripts (vega, vega-lite, vega-embed) at the same versions from the npm registry.

    The test machines reach package registries only; the files are those the CDN serves.
    """
    html = page.read_text()
    vendor = page.parent / "vendor"
    vendor.mkdir()
    for url, name, version in {(m.group(0), *m.groups()) for m in CDN_SCRIPT.finditer(html)}:
        subprocess.run(
            ["npm", "pack", f"{name}@{version}", "--silent", "--pack-destination", str(vendor)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with tarfile.open(vendor / f"{name}-{version}.tgz") as tarball:
            manifest = json.load(tarball.extractfile("package/package.json"))
            served = manifest.get("jsdelivr") or manifest["unpkg"]
            (vendor / f"{name}.js").write_bytes(tarball.extractfile(f"package/{served.lstrip('./')}").read())
        html = html.replace(url, f"vendor/{name}.js")
    page.write_text(html)


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM) or not shutil.which(CHROMEDRIVER):
        pytest.fail("Debian's chromium and chromium-driver are needed: `make test` installs them, as root")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def rendered(driver, limit=60):
    """Wait until every vega chart has drawn; return (charts drawn, images loaded, images)."""
    deadline = time.monotonic() + limit
    while True:
        charts = driver.execute_script("return document.querySelectorAll('.vega-embed .marks').length")
        if charts >= VEGA_CHARTS or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    loaded = driver.execute_script("return [...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
    return charts, loaded, driver.execute_script("return document.images.length")


def test_plots_page_shows_every_chart_and_picture_without_errors(tiny_repo, tmp_path, browser):
    dvc("plots", "show", "-o", str(tmp_path / "page"), cwd=tiny_repo)
    page = tmp_path / "page" / "index.html"
    local_copy_of_scripts(page)
    browser.get(page.as_uri())
    charts, loaded, images = rendered(browser)
    browser.save_screenshot(str(tmp_path / "page.png"))
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    assert (charts, loaded, images) == (VEGA_CHARTS, IMAGES, IMAGES)
    assert (tmp_path / "page.png").stat().st_size > 10_000
