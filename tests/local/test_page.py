"""The control plane's read-only page, in a real headless Chromium: what a person sees after an apply.

Never skipped: without Chromium and its driver the test fails and says how to install them.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from plane_support import Plane, bump_churn, make_repo

from amlops.local.connection import Connection
from amlops.local.page import page_key

CHROMIUM, DRIVER = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
WSID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/amlops-local/providers/Microsoft.MachineLearningServices/workspaces/local"


def spki(state_dir: Path) -> str:
    """The server key's SPKI hash: Chromium trusts that one key, not every bad certificate."""
    cert = x509.load_pem_x509_certificates((state_dir / "tls" / "server.pem").read_bytes())[0]
    der = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def browser(state_dir: Path, profile: Path):
    if not (CHROMIUM and DRIVER):
        pytest.fail("Chromium is missing: apt-get install -y chromium chromium-driver (Debian), then run again")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-proxy-server",
        f"--user-data-dir={profile}",
        f"--ignore-certificate-errors-spki-list={spki(state_dir)}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(DRIVER))


@pytest.mark.slow
def test_the_page_shows_endpoints_rollouts_models_and_logs_in_a_browser(plane: Plane, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    bump_churn(root)
    assert plane.apply(root).ok  # a rollout by steps, each behind its gate
    base = Connection.load(plane.state_dir).resource_manager.rstrip("/")
    driver = browser(plane.state_dir, tmp_path / "profile")
    try:
        driver.get(f"{base}/ui/endpoints?wsid={WSID}")
        assert driver.title.startswith("Sign in")  # no key, no page
        driver.get(f"{base}/ui/login?key={page_key(plane.state_dir)}")
        assert driver.title.startswith("Workspaces")
        driver.find_element(By.LINK_TEXT, "endpoints").click()
        row = driver.find_element(By.XPATH, "//tr[td/a[text()='churn']]").text
        assert "Succeeded" in row and "100 %" in row and "none" in row  # all traffic on one deployment, no mirror
        driver.find_element(By.LINK_TEXT, "churn").click()
        assert driver.current_url.startswith(f"{base}/ui/endpoints/realtime/churn/detail?wsid=")
        deployments = driver.find_elements(By.XPATH, "//h2[text()='Deployments']/following-sibling::table[1]//tr[td]")
        assert len(deployments) == 1 and "churn:2" in deployments[0].text and "Succeeded" in deployments[0].text
        steps = driver.find_elements(By.XPATH, "//h2[text()='Rollout']/following-sibling::table[1]//tr[td]")
        assert [s.text.split()[0] for s in steps] == ["1", "2", "3"]  # mirror 20 %, weight 50 %, weight 100 %
        assert all(s.text.endswith("passed") and int(s.text.split()[1]) >= 5 for s in steps)  # min_requests 5
        assert "rolled_out" in driver.find_element(By.XPATH, "//h2[text()='Rollout']/following-sibling::p[1]").text
        driver.find_element(By.LINK_TEXT, "logs").click()
        assert "azmlinfsrv" in driver.find_element(By.TAG_NAME, "pre").text
        driver.back()
        driver.find_element(By.LINK_TEXT, "churn:2").click()
        assert driver.title.startswith("Model churn:2") and "models/churn/v2.yml" in driver.page_source
        driver.find_element(By.LINK_TEXT, "Runs").click()
        assert driver.title.startswith("Runs")
    finally:
        driver.quit()


@pytest.mark.slow
def test_the_page_needs_its_key_and_only_reads(plane: Plane) -> None:
    connection = Connection.load(plane.state_dir)
    base, ca = connection.resource_manager.rstrip("/"), connection.ca_bundle
    assert requests.get(f"{base}/ui/", verify=ca, timeout=10).status_code == 401
    assert requests.get(f"{base}/ui/login?key=guess", verify=ca, timeout=10, allow_redirects=False).status_code == 401
    assert (plane.state_dir / "page.key").stat().st_mode & 0o077 == 0  # the owner's alone
    session = requests.Session()
    login = session.get(f"{base}/ui/login?key={page_key(plane.state_dir)}", verify=ca, timeout=10, allow_redirects=False)
    assert (
        login.status_code == 303
        and "HttpOnly" in login.headers["Set-Cookie"]
        and "SameSite=Strict" in login.headers["Set-Cookie"]
    )
    page = session.get(f"{base}/ui/", verify=ca, timeout=10, cookies=login.cookies)
    assert page.status_code == 200 and "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert session.post(f"{base}/ui/", verify=ca, timeout=10, cookies=login.cookies).status_code == 405
