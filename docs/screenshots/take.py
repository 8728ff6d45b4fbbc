"""Screenshots of a running Resonance for the README: each condition's rate page and the gallery, English and
German, at 1280 and 360 px, in Debian's Chromium.

    DATABASE_URL=sqlite:///DIR/db.sqlite3 MEDIA_ROOT=DIR/media .venv/bin/python manage.py runserver 8010 &
    .venv/bin/python docs/screenshots/take.py --base http://127.0.0.1:8010 --study bench --out docs/screenshots

(DIR from `bench/prerender.py --keep DIR`: the 80 real clips, the four-condition study, explanations ready.)
Participants are random ids; conditions come as the study's randomisation gives them, so the script enters
until it has seen each one. --admin USER:PASSWORD adds the gallery.
"""
import argparse
import secrets
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]


def enter(browser, base, study, language, width):
    context = browser.new_context(locale={"en": "en-GB", "de": "de-DE"}[language], viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/s/{study}/?PROLIFIC_PID={secrets.token_hex(12)}&STUDY_ID=s&SESSION_ID=x")
    page.click("button[value=yes]")
    page.click("button.primary")
    page.wait_for_url("**/about-you/")
    for group in page.locator("fieldset").all():
        group.locator("input[type=radio]").nth(1).check()
    page.wait_for_timeout(500)
    page.click("button[type=submit]")
    page.wait_for_url("**/choose/")
    page.fill("#q", "battle")
    page.click("form[role=search] button")
    page.locator("#results button[value=like]").first.click()
    page.wait_for_timeout(800)
    page.click("button[value=continue]")
    page.wait_for_url(lambda url: "/choose/" not in url, timeout=120_000)
    while "/test/" in page.url:  # the understanding questions before the recommendations: any answer will do
        page.locator("input[name=choice]").first.check()
        page.locator("input[name=confidence]").first.check()
        page.click("#trial button[type=submit]")
        page.wait_for_load_state()
    page.wait_for_url("**/rate/", timeout=120_000)
    return context, page


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8010")
    parser.add_argument("--study", default="bench")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--admin", default="", help="USER:PASSWORD of a researcher, for the gallery")
    parser.add_argument("--study-id", type=int, default=1, help="the study's id, for the gallery")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        for language in ("en", "de"):
            for width in (1280, 360):
                seen = set()
                for _ in range(12):
                    context, page = enter(browser, args.base, args.study, language, width)
                    kind = next((k for k in ("features", "spectrogram", "tags")
                                 if page.locator(f".explanation-{k}").count()), "control")
                    if kind not in seen:
                        seen.add(kind)
                        card = page.locator(".recommendation").first
                        card.screenshot(path=args.out / f"rate-{kind}-{language}-{width}.png")
                        if kind != "control":  # the explanation alone, for the README
                            card.locator("figure.explanation").first.screenshot(
                                path=args.out / f"figure-{kind}-{language}-{width}.png")
                    context.close()
                    if len(seen) == 4:
                        break
        if args.admin:
            user, password = args.admin.split(":", 1)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{args.base}/admin/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            page.goto(f"{args.base}/admin/study/study/{args.study_id}/gallery/?n=2")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=args.out / "gallery.png", full_page=False)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
