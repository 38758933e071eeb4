#!/usr/bin/env python3
"""End-to-end test of the Curator storefront in headless Chromium (selenium 4).

A new shopper starts with popular items; after viewing three products of one department the
"Recommended for you" shelf must change and lean towards that department, with a reason on every
card in English, then in Chinese after switching language; the models page must show the
evaluation table; the browser console must stay free of errors.

Every served list (shelf, similar products, search results) has a recommendation_id: the page must
report the cards that came into view (POST /v1/impressions, each position of a list once), and a
click on a shelf card, with the purchase made on the product page it opened, must name that list.
The models page's online section, given the admin API key (--admin-key), must then show the list's
impressions, seen cards, the click and the purchase.

The "Personalised recommendations" switch, turned off, must give a shelf that says so (status and
every card's reason) and holds what a new shopper gets (fetched here with the admin key); the page
reloaded must still show it off; turned on again, the shelf must be the shopper's own list again.
"Erase my data", confirmed in the browser's dialog (after once cancelling it), must erase the
shopper's events (the server no longer knows them) and carry on as a new shopper.

With --shop-lang zh (a Chinese shop, `curator sample --lang zh`) the browser's language is zh-CN:
the page must open in 中文 by itself, a Chinese search (防水登山鞋) must find hiking boots, and the
reasons must be Chinese first (no English outside the quoted titles), then English after switching.

    python3 Tests/Browser/storefront_test.py --url http://127.0.0.1:8080 --screenshot shop.png --admin-key KEY
"""
import argparse
import json
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
TIMEOUT = 30  # seconds; the first semantic search or recommendation can be slow on a busy machine
VIEWS = 3
MIN_DEPARTMENT_SHARE = 0.6
CJK = re.compile(r'[\u4e00-\u9fff]')
ASCII_LETTERS = re.compile(r'[A-Za-z]')
# The sentence templates of Sources/Explanations/ReasonWriter.swift; titles may be in any language.
ENGLISH_REASON = re.compile(r'^(Because you recently |Popular with shoppers right now: |Similar to |Picked for you from )')
CHINESE_REASON = re.compile(r'^(因为您最近|近期热门商品|与「|根据您的购物记录)')
QUOTED_TITLE = re.compile(r'「[^」]*」')
# ReasonWriter's sentence for a shopper who turned personalised recommendations off.
OFF_REASON = {
    'en': re.compile(r'^Popular with shoppers right now \(personalised recommendations are off\): '),
    'zh': re.compile(r'^近期热门商品（您已关闭个性化推荐），为您推荐「'),
}
OFF_SOURCE = 'personalisation_off'
# The Chinese shop's search check: a query by kind of product, and the category it must find.
CHINESE_QUERY = '防水登山鞋'
CHINESE_QUERY_CATEGORY = '户外用品 > 登山鞋'
MIN_SEARCH_SHARE = 0.75
SEARCH_CARDS = 8

# Read in one script call so a shelf re-rendering mid-read cannot hand back stale elements.
READ_SHELF = """
return Array.from(document.querySelectorAll('[data-testid="rec-card"]')).map((card) => ({
  id: card.dataset.productId,
  category: card.dataset.category || '',
  source: card.dataset.source || '',
  reason: (card.querySelector('[data-testid="rec-reason"]')?.textContent || '').trim(),
}));
"""

# The first shelf card once the page has reported it seen (the server acknowledged its impression).
READ_SEEN_SHELF_CARD = """
const card = document.querySelector('[data-testid="rec-card"]');
if (!card || card.dataset.seen !== 'true') return null;
return { id: card.dataset.productId, list: card.dataset.recommendationId || '', position: Number(card.dataset.position) };
"""

# Keeps a copy of every request the page sends from now on (until the page reloads), to check what
# its events and impression reports say.
RECORD_REQUESTS = """
if (!window.__sentRequests) {
  window.__sentRequests = [];
  const original = window.fetch;
  window.fetch = function (input, init = {}) {
    let body = null;
    try { body = typeof init.body === 'string' ? JSON.parse(init.body) : null; } catch (error) { body = null; }
    window.__sentRequests.push({ path: String(input).split('?')[0], method: init.method || 'GET', body });
    return original.call(this, input, init);
  };
}
"""

READ_ONLINE_TABLE = """
const table = document.querySelector('[data-testid="online-table"]');
if (!table) return null;
return Array.from(table.querySelectorAll('tbody tr')).map((tr) => {
  const row = { group: tr.dataset.group, key: tr.dataset.key };
  for (const cell of tr.querySelectorAll('[data-field]')) {
    row[cell.dataset.field] = Number(cell.dataset.value);
    if (cell.dataset.low !== undefined) row[cell.dataset.field + '_interval'] = [Number(cell.dataset.low), Number(cell.dataset.high)];
  }
  return row;
});
"""

READ_GRID = """
return Array.from(document.querySelectorAll('[data-testid="product-card"]')).map((card) => ({
  id: card.dataset.productId, category: card.dataset.category || '',
}));
"""


class TestFailure(Exception):
    pass


def step(message):
    print(f'== {message}', flush=True)


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def testid(name):
    return f'[data-testid="{name}"]'


def make_driver(width, height, browser_language):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', f'--window-size={width},{height}',
                     f'--lang={browser_language}'):
        options.add_argument(argument)
    options.add_experimental_option('prefs', {'intl.accept_languages': browser_language})
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Storefront:
    """The page as the test sees it: only data-testid hooks, never layout classes."""

    def __init__(self, driver, base_url):
        self.driver = driver
        self.base_url = base_url.rstrip('/')

    def wait(self, condition, what):
        return WebDriverWait(self.driver, TIMEOUT).until(lambda _: condition(), message=f'timed out waiting for {what}')

    def find(self, name):
        return self.driver.find_element(By.CSS_SELECTOR, testid(name))

    def exists(self, name):
        return len(self.driver.find_elements(By.CSS_SELECTOR, testid(name))) > 0

    def shelf_version(self):
        return int(self.find('shelf-status').get_attribute('data-version') or 0)

    def wait_shelf_after(self, version, what):
        """Waits until the shelf finished rendering at least once more than `version`."""
        return self.wait(lambda: self.shelf_version() > version and self.shelf_version(), f'the shelf to refresh after {what}')

    def shelf(self):
        return self.driver.execute_script(READ_SHELF)

    def grid(self):
        return self.driver.execute_script(READ_GRID)

    def open(self):
        self.driver.get(self.base_url + '/')
        self.wait(lambda: self.shelf_version() >= 1, 'the first shelf')
        self.wait(lambda: len(self.department_options()) > 0, 'the departments in the category select')

    def department_options(self):
        select = self.find('category-select')
        return [o.get_attribute('value') for o in select.find_elements(By.CSS_SELECTOR, 'option[data-kind="department"]')]

    def choose_new_shopper(self):
        select = Select(self.find('shopper-select'))
        version = self.shelf_version()
        already = select.first_selected_option.get_attribute('value') == select.options[0].get_attribute('value')
        select.select_by_index(0)
        # A fresh browser profile already is a new shopper; choosing it again changes nothing.
        if not already:
            self.wait_shelf_after(version, 'choosing a new shopper')
        return select.first_selected_option.text

    def filter_department(self, department):
        Select(self.find('category-select')).select_by_value(department)
        prefix = department + ' >'
        self.wait(lambda: (cards := self.grid()) and all(c['category'].startswith(prefix) for c in cards),
                  f'the grid to show only {department}')

    def view_product(self, product_id):
        version = self.shelf_version()
        card = self.driver.find_element(By.CSS_SELECTOR, f'{testid("product-card")}[data-product-id="{product_id}"]')
        card.click()
        title = self.wait(lambda: self.exists('product-title') and self.find('product-title').text, f'product page {product_id}')
        self.wait_shelf_after(version, f'viewing {product_id}')
        return title

    def route(self):
        return self.driver.execute_script("return [location.hash || '#/', document.body.dataset.route || '']")

    def back_to_grid(self, department):
        self.driver.back()
        prefix = department + ' >'
        # The route first: until the page has taken the hash change, the old grid would match too.
        self.wait(lambda: self.route() == ['#/', 'grid'] and (cards := self.grid())
                  and all(c['category'].startswith(prefix) for c in cards), 'the grid again')

    def search(self, query):
        box = self.find('search-input')
        box.clear()
        box.send_keys(query, Keys.ENTER)
        # The results replace the page in one step, under a heading that names the query.
        self.wait(lambda: query in self.driver.execute_script("return document.querySelector('#main h1')?.textContent || ''")
                  and len(self.grid()) > 0, f'results for "{query}"')
        return self.grid()

    def clear_search(self, query):
        box = self.find('search-input')
        box.clear()
        box.send_keys(Keys.ENTER)
        self.wait(lambda: self.exists('product-card') and self.driver.execute_script(
            "return !document.querySelector('#main h1')?.textContent.includes(arguments[0])", query), 'the grid without the search')

    def language(self):
        return self.find('lang-select').get_attribute('value')

    def switch_language(self, value):
        version = self.shelf_version()
        Select(self.find('lang-select')).select_by_value(value)
        self.wait_shelf_after(version, f'switching language to {value}')

    def open_why(self):
        button = self.find('rec-why')
        button.click()
        self.wait(lambda: button.get_attribute('aria-expanded') == 'true', 'the "Why?" toggle to open')
        evidence = self.find('rec-evidence')
        check(evidence.is_displayed() and evidence.text.strip(), 'the first card\'s evidence is empty or hidden after "Why?"')
        return ' | '.join(evidence.text.split('\n'))

    def open_models(self):
        self.find('nav-models').click()
        self.wait(lambda: self.exists('models-table'), 'the models table')
        rows = self.driver.find_elements(By.CSS_SELECTOR, f'{testid("models-table")} tbody tr')
        check(len(rows) > 0, 'the models table has no rows')
        check(self.exists('models-chart'), 'the models chart is missing')
        return [row.get_attribute('data-model') for row in rows]

    def record_requests(self):
        self.driver.execute_script(RECORD_REQUESTS)

    def sent(self, path, method='POST'):
        """The bodies of the requests to `path` the page sent since record_requests."""
        return [r['body'] for r in self.driver.execute_script('return window.__sentRequests || []')
                if r['path'] == path and r['method'] == method]

    def sent_event(self, event, product_id):
        """The first `event` for `product_id` the page sent (as part of a batch or alone)."""
        for body in self.sent('/v1/events'):
            if isinstance(body, dict):
                body = body.get('events', [body])
            for item in body if isinstance(body, list) else []:
                if isinstance(item, dict) and item.get('event') == event and item.get('product_id') == product_id:
                    return item
        return None

    def follow_shelf_card(self):
        """Opens the first shelf card's product once the card was reported seen; returns the card
        (product id, list id, position) and the product's title."""
        card = self.wait(lambda: self.driver.execute_script(READ_SEEN_SHELF_CARD), 'the first shelf card to be reported seen')
        version = self.shelf_version()
        self.driver.find_element(By.CSS_SELECTOR, f'{testid("rec-card")}[data-product-id="{card["id"]}"] {testid("rec-link")}').click()
        self.wait(lambda: self.route() == [f'#/product/{card["id"]}', 'product'], f'the product page of {card["id"]}')
        title = self.wait(lambda: self.exists('product-title') and self.find('product-title').text, f'product page {card["id"]}')
        self.wait_shelf_after(version, f'viewing {card["id"]}')
        return card, title

    def buy(self, product_id):
        version = self.shelf_version()
        self.find('action-purchase').click()
        self.wait_shelf_after(version, f'buying {product_id}')
        return self.wait(lambda: self.sent_event('purchase', product_id), f'the purchase of {product_id} to be sent')

    def online_rows(self):
        return self.driver.execute_script(READ_ONLINE_TABLE)

    def online_state(self):
        return self.find('online-status').get_attribute('data-state') or ''

    def online_figures(self, admin_key, accept):
        """Types the admin key into the models page's online section and waits until its table shows
        rows `accept` takes (asking again while it does not: the last event may still be on its way)."""
        self.wait(lambda: self.online_state() in ('hint', 'ready', 'empty', 'refused', 'error'), 'the online section')
        check(self.online_state() == 'hint', f'without a key the online section says "{self.find("online-status").text}" '
                                              f'({self.online_state()}), expected a hint to type one')
        box = self.find('online-key')
        box.clear()
        box.send_keys(admin_key, Keys.ENTER)
        asked = [time.monotonic()]

        def ready():
            state = self.online_state()
            check(state not in ('refused', 'error'), f'the online figures failed: "{self.find("online-status").text}"')
            rows = self.online_rows() if state in ('ready', 'empty') else None
            if rows is not None and accept(rows):
                return rows
            if state in ('ready', 'empty') and time.monotonic() - asked[0] > 2:
                self.find('online-key').send_keys(Keys.ENTER)
                asked[0] = time.monotonic()
            return None

        return self.wait(ready, 'the online table to show the shelf list\'s impressions, seen cards, click and purchase')

    def group_online_by(self, group, accept):
        Select(self.find('online-group')).select_by_value(group)
        return self.wait(lambda: self.online_state() == 'ready' and (rows := self.online_rows()) and accept(rows) and rows,
                         f'the online table per day and {group}')

    def open_shop(self):
        self.find('nav-shop').click()
        self.wait(lambda: len(self.grid()) > 0, 'the product grid')

    def status_classes(self):
        return (self.find('shelf-status').get_attribute('class') or '').split()

    def personalised(self):
        """The switch once the page has read the shopper's choice (it is disabled until then)."""
        switch = self.find('personalised-switch')
        self.wait(lambda: switch.is_enabled(), 'the personalisation switch to show the shopper\'s choice')
        return switch.is_selected()

    def set_personalised(self, on):
        check(self.personalised() != on, f'the personalisation switch already is {"on" if on else "off"}')
        version = self.shelf_version()
        self.find('personalised-switch').click()
        self.wait_shelf_after(version, f'turning personalisation {"on" if on else "off"}')
        switch = self.find('personalised-switch')
        self.wait(lambda: ('personalisation-off' in self.status_classes()) != on and switch.is_enabled() and switch.is_selected() == on,
                  f'the shelf status to say personalisation is {"on" if on else "off"}')
        return self.shelf()

    def reload(self):
        self.driver.refresh()
        self.wait(lambda: self.shelf_version() >= 1, 'the first shelf after reloading')

    def session_shopper(self):
        return self.driver.execute_script("return localStorage.getItem('curator.shopper') || ''")

    def erase_data(self, accept):
        """Clicks "Erase my data" and answers the browser's confirmation dialog; returns its text."""
        self.find('erase-data').click()
        alert = WebDriverWait(self.driver, TIMEOUT).until(expected_conditions.alert_is_present(),
                                                          message='timed out waiting for the erase confirmation')
        text = alert.text
        if accept:
            alert.accept()
        else:
            alert.dismiss()
        return text

    def severe_console_entries(self):
        return [entry for entry in self.driver.get_log('browser') if entry.get('level') == 'SEVERE']


def describe(cards):
    return ', '.join(f"{c['id']} ({c['category']})" for c in cards)


def check_reasons(cards, language, shop_language):
    """Every card has a reason in `language`. The shop's own names are quoted as they are, so only in
    a Chinese shop must a Chinese reason be free of Latin letters outside its quoted titles (an
    English shop's department, "Beauty", stays "Beauty")."""
    for card in cards:
        reason = card['reason']
        if language == 'en':
            check(ENGLISH_REASON.search(reason), f'card {card["id"]} has no English reason: "{reason}"')
        elif shop_language == 'zh':
            outside_titles = QUOTED_TITLE.sub('', reason)
            check(CHINESE_REASON.search(reason) and not ASCII_LETTERS.search(outside_titles),
                  f'card {card["id"]} has no Chinese reason (or English outside the quoted titles): "{reason}"')
        else:
            check(CHINESE_REASON.search(reason), f'card {card["id"]} has no Chinese reason: "{reason}"')


def check_heading(page, language):
    heading = page.driver.find_element(By.ID, 'shelf-heading').text
    if language == 'zh':
        check(CJK.search(heading), f'the shelf heading is not in Chinese: "{heading}"')
    else:
        check(not CJK.search(heading), f'the shelf heading is not in English: "{heading}"')
    return heading


def server_get(base_url, path, admin_key):
    """GET on the API with the admin key (not through the page): the answer's status and JSON."""
    request = urllib.request.Request(base_url.rstrip('/') + path,
                                     headers={'Authorization': f'Bearer {admin_key}', 'Accept': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, None


def new_shopper_list(page, admin_key, k, language):
    """What a shopper the server has never seen gets (no category), asked for with the admin key."""
    shopper = 'browser-test-' + secrets.token_hex(8)
    query = urllib.parse.urlencode({'k': k, 'lang': language})
    status, data = server_get(page.base_url, f'/v1/shoppers/{urllib.parse.quote(shopper)}/recommendations?{query}', admin_key)
    check(status == 200 and data, f'a new shopper\'s recommendations answered {status}')
    return data


def check_personalisation(page, args):
    """Turns the switch off (the shelf: a new shopper's list, said to be so), reloads (still off),
    turns it on again (the shopper's own list again)."""
    language = page.language()
    step('personalisation off (' + ('中文' if language == 'zh' else 'English') + ')')
    page.open_shop()
    check(page.personalised(), 'the personalisation switch is off for a shopper who never turned it off')
    personal = page.shelf()
    check(personal and 'personalisation-off' not in page.status_classes() and all(c['source'] != OFF_SOURCE for c in personal),
          f'the shelf says personalisation is off before it was turned off: {describe(personal)}')

    def check_off(cards, when):
        status = page.find('shelf-status')
        check(len(cards) > 0, f'the shelf is empty {when}')
        check('personalisation-off' in page.status_classes() and 'popular' not in page.status_classes(),
              f'the shelf status does not say personalisation is off {when}: "{status.text}" ({status.get_attribute("class")})')
        for card in cards:
            check(card['source'] == OFF_SOURCE, f'card {card["id"]} has evidence source {card["source"]!r} {when}, not {OFF_SOURCE}')
            check(OFF_REASON[language].search(card['reason']),
                  f'card {card["id"]} does not say personalisation is off {when}: "{card["reason"]}"')
        return status.text

    off = page.set_personalised(False)
    print(f'   status: {check_off(off, "after turning it off")}')
    print(f'   e.g. "{off[0]["reason"]}"')
    reference = new_shopper_list(page, args.admin_key, len(off), language)
    expected = [item['product_id'] for item in reference.get('items', [])]
    check([c['id'] for c in off] == expected,
          f'with personalisation off the shelf is {[c["id"] for c in off]}, a new shopper gets {expected} ({reference.get("model")})')
    print(f'   the same {len(off)} products, in order, as a new shopper ({reference.get("model")}) gets')
    why = page.open_why()
    print(f'   why? {why}')
    check(not page.driver.find_elements(By.CSS_SELECTOR, f'{testid("rec-evidence")} {testid("evidence-history")}'),
          'the "Why?" of a list without personalisation cites the shopper\'s history')

    page.reload()
    check(not page.personalised(), 'after reloading, the switch shows personalisation on, but it was turned off')
    page.wait(lambda: 'personalisation-off' in page.status_classes(), 'the reloaded shelf to say personalisation is off')
    check_off(page.shelf(), 'after reloading')
    print('   still off after reloading the page')

    step('personalisation on again')
    on = page.set_personalised(True)
    check(on and all(c['source'] != OFF_SOURCE for c in on) and 'popular' not in page.status_classes(),
          f'the shelf is not personal again after turning personalisation on: {describe(on)} '
          f'(status "{page.find("shelf-status").text}")')
    check_reasons(on, language, args.shop_lang)
    check([c['id'] for c in on] == [c['id'] for c in personal],
          f'turned on again, the shelf is {describe(on)}, not the shopper\'s own list from before: {describe(personal)}')
    print(f'   the shopper\'s own {len(on)} picks again ({page.find("shelf-status").get_attribute("data-model")}), '
          f'e.g. "{on[0]["reason"]}"')


def check_erasure(page, args):
    """Erase my data: cancelled changes nothing; confirmed, the server forgets the shopper's events
    and the page carries on as a new shopper."""
    step('erase my data')
    shopper = page.session_shopper()
    status, _ = server_get(page.base_url, f'/v1/shoppers/{urllib.parse.quote(shopper)}', args.admin_key)
    check(status == 200, f'the server does not know the shopper {shopper} before erasing ({status})')
    text = page.erase_data(accept=False)
    print(f'   confirmation: "{text}" (cancelled)')
    time.sleep(0.5)  # what a cancelled erasure could have started has had time to show
    check(page.session_shopper() == shopper and server_get(page.base_url, f'/v1/shoppers/{urllib.parse.quote(shopper)}', args.admin_key)[0] == 200,
          'cancelling "Erase my data" erased the shopper anyway')
    version = page.shelf_version()
    page.erase_data(accept=True)
    page.wait_shelf_after(version, 'erasing the shopper\'s data')
    page.wait(lambda: page.session_shopper() not in ('', shopper) and page.find('privacy-status').text.strip(),
              'the page to carry on as a new shopper')
    status, _ = server_get(page.base_url, f'/v1/shoppers/{urllib.parse.quote(shopper)}', args.admin_key)
    check(status == 404, f'after erasing, the server still knows shopper {shopper} ({status})')
    page.wait(lambda: 'popular' in page.status_classes(), 'the new shopper\'s shelf of popular products')
    check(page.personalised(), 'the new shopper\'s personalisation switch is off')
    print(f'   {shopper} erased (GET /v1/shoppers/… answers 404); now {page.session_shopper()}: "{page.find("privacy-status").text}"')


def describe_online(row):
    ctr_low, ctr_high = row['ctr_interval']
    conversion_low, conversion_high = row['conversion_interval']
    return (f"{row['group']}: lists {row['lists']:g}, impressions {row['impressions']:g}, seen {row['seen']:g}, clicks {row['clicks']:g}, "
            f"ctr {row['ctr']:.2%} [{ctr_low:.2%}, {ctr_high:.2%}], purchases {row['purchases']:g}, "
            f"conversion {row['conversion']:.2%} [{conversion_low:.2%}, {conversion_high:.2%}], revenue {row['revenue']:.2f}")


def check_impression_reports(page):
    """Every report names a list and positions from 1, and no position of a list goes twice."""
    reported = {}
    reports = page.sent('/v1/impressions')
    for body in reports:
        list_id, seen = body.get('recommendation_id'), body.get('seen')
        check(isinstance(list_id, str) and len(list_id) == 22, f'an impression report without a list id: {body}')
        check(isinstance(seen, list) and seen and all(isinstance(p, int) and p >= 1 for p in seen), f'a bad impression report: {body}')
        again = reported.setdefault(list_id, set()) & set(seen)
        check(not again, f'positions {sorted(again)} of list {list_id} were reported twice')
        reported[list_id] |= set(seen)
    return len(reports), len(reported)


def check_chinese_search(page):
    step(f'search "{CHINESE_QUERY}"')
    cards = page.search(CHINESE_QUERY)[:SEARCH_CARDS]
    hits = sum(c['category'] == CHINESE_QUERY_CATEGORY for c in cards)
    print(f'   {hits}/{len(cards)} of the first results are {CHINESE_QUERY_CATEGORY}: {describe(cards)}')
    check(len(cards) > 0 and hits / len(cards) >= MIN_SEARCH_SHARE,
          f'"{CHINESE_QUERY}" found {hits}/{len(cards)} {CHINESE_QUERY_CATEGORY} (need {MIN_SEARCH_SHARE:.0%}): {describe(cards)}')
    page.clear_search(CHINESE_QUERY)


def run(page, args):
    primary = args.shop_lang
    other = 'en' if primary == 'zh' else 'zh'
    step(f'open {page.base_url}/ (browser language {args.browser_language})')
    page.open()
    page.record_requests()
    check(page.language() == primary, f'the page opened in "{page.language()}", expected "{primary}" for a {args.browser_language} browser')
    print(f'   opened in {primary}: "{check_heading(page, primary)}"')

    label = page.choose_new_shopper()
    initial = page.shelf()
    status = page.find('shelf-status')
    step(f'chose "{label}": shelf v{page.shelf_version()} has {len(initial)} cards: {describe(initial)}')
    check(len(initial) > 0, 'a new shopper got an empty shelf (expected popular items)')
    check('popular' in (status.get_attribute('class') or ''),
          f'the shelf does not say a new shopper sees popular items (status: "{status.text}", model "{status.get_attribute("data-model")}")')
    print(f'   shelf status: {status.text}')

    if primary == 'zh':
        check_chinese_search(page)

    department = page.department_options()[0]
    step(f'filter the grid to department "{department}"')
    page.filter_department(department)
    product_ids = [card['id'] for card in page.grid()][:VIEWS]
    check(len(product_ids) == VIEWS, f'the {department} grid has fewer than {VIEWS} products')

    for number, product_id in enumerate(product_ids, start=1):
        title = page.view_product(product_id)
        step(f'view {number}/{VIEWS}: {product_id} "{title}" (shelf v{page.shelf_version()})')
        page.back_to_grid(department)

    shelf = page.shelf()
    step(f'shelf after {VIEWS} views: {describe(shelf)}')
    check(len(shelf) > 0, 'the shelf is empty after the views')
    check({c['id'] for c in shelf} != {c['id'] for c in initial}, 'the shelf did not change after viewing three products')
    in_department = sum(c['category'].startswith(department + ' >') for c in shelf)
    share = in_department / len(shelf)
    print(f'   {in_department}/{len(shelf)} cards in {department} ({share:.0%}); model: {status.get_attribute("data-model")}')
    check(share >= MIN_DEPARTMENT_SHARE,
          f'only {share:.0%} of the shelf is in {department} (need {MIN_DEPARTMENT_SHARE:.0%}): {describe(shelf)}')
    check_reasons(shelf, primary, args.shop_lang)
    print(f'   {primary} reasons, e.g. "{shelf[0]["reason"]}"')
    print(f'   why? {page.open_why()}')

    Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
    page.driver.save_screenshot(args.screenshot)
    step(f'screenshot {args.screenshot}')

    step('switch to ' + ('中文' if other == 'zh' else 'English'))
    page.switch_language(other)
    switched = page.shelf()
    check_reasons(switched, other, args.shop_lang)
    heading = check_heading(page, other)
    print(f'   "{heading}": {len(switched)} {other} reasons, e.g. "{switched[0]["reason"]}"')

    step('open the first shelf card, buy it, go back')
    shelf_model = status.get_attribute('data-model')
    card, title = page.follow_shelf_card()
    print(f'   card {card["position"]} of list {card["list"]}: {card["id"]} "{title}"')
    click = page.wait(lambda: page.sent_event('click', card['id']), f'the click on {card["id"]} to be sent')
    check(click.get('recommendation_id') == card['list'],
          f'the click on shelf card {card["id"]} names list {click.get("recommendation_id")!r}, not the shelf\'s {card["list"]!r}')
    purchase = page.buy(card['id'])
    check(purchase.get('recommendation_id') == card['list'],
          f'the purchase of {card["id"]}, reached from the shelf, names list {purchase.get("recommendation_id")!r}, not {card["list"]!r}')
    print(f'   click and purchase sent with recommendation_id {card["list"]} (price {purchase.get("price")})')
    page.back_to_grid(department)
    reports, lists = check_impression_reports(page)
    print(f'   {reports} impression reports for {lists} lists, no position twice')

    step('models page')
    models = page.open_models()
    print(f'   table rows: {", ".join(models)}')

    step('online figures per day and model (admin key typed into the page)')

    # The shelf's list is counted under its model ("sequential v1" for a trained model's version).
    def shelf_rows(rows):
        return [r for r in rows if r['key'] == shelf_model or r['key'].startswith(f'{shelf_model} v')]

    def shows_the_shelf(rows):
        return any(r['impressions'] > 0 and r['seen'] > 0 and r['clicks'] >= 1 and r['purchases'] >= 1 for r in shelf_rows(rows))

    print(f'   the clicked list came from the {shelf_model} model')
    rows = page.online_figures(args.admin_key, shows_the_shelf)
    for row in rows:
        print(f'   {describe_online(row)}')
    check(page.exists('online-chart'), 'the online chart is missing')
    for row in rows:
        check(row['seen'] <= row['impressions'], f'more cards seen than served: {describe_online(row)}')
        # Within rounding: the server's Wilson interval for 0 clicks can start at 1e-17 rather than 0.
        check(row['ctr_interval'][0] - 1e-9 <= row['ctr'] <= row['ctr_interval'][1] + 1e-9, f'the CTR is outside its interval: {describe_online(row)}')
    by_variant = page.group_online_by('variant', lambda rows: any(r['key'] == '(none)' and r['impressions'] > 0 for r in rows))
    for row in by_variant:
        print(f'   {describe_online(row)}')

    # After every check that needs the shopper's personal lists.
    check_personalisation(page, args)
    check_erasure(page, args)

    if args.mobile_screenshot:
        step(f'mobile screenshot {args.mobile_screenshot} (390x844, English)')
        page.switch_language('en')
        page.open_shop()
        page.driver.set_window_size(390, 844)
        Path(args.mobile_screenshot).parent.mkdir(parents=True, exist_ok=True)
        page.driver.save_screenshot(args.mobile_screenshot)

    step('browser console')
    severe = page.severe_console_entries()
    check(not severe, 'console errors:\n' + '\n'.join(f"   {e['message']}" for e in severe))
    print('   no SEVERE entries')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--url', required=True, help='base URL of a running curator serve')
    parser.add_argument('--screenshot', required=True, help='PNG of the shop page after the three views')
    parser.add_argument('--mobile-screenshot', help='optional PNG of the shop page in a 390x844 window')
    parser.add_argument('--shop-lang', choices=('en', 'zh'), default='en',
                        help='the shop\'s language: zh runs a zh-CN browser against a Chinese shop')
    parser.add_argument('--admin-key', required=True,
                        help='an admin API key of the server, typed into the models page to read the online figures')
    args = parser.parse_args()
    args.browser_language = 'zh-CN' if args.shop_lang == 'zh' else 'en-US'

    driver = make_driver(1280, 1600, args.browser_language)
    page = Storefront(driver, args.url)
    try:
        run(page, args)
    except (TestFailure, TimeoutException, WebDriverException) as error:
        message = error.msg if isinstance(error, WebDriverException) else str(error)
        print(f'FAIL: {message}', file=sys.stderr)
        failure_shot = str(Path(args.screenshot).with_suffix('')) + '-failure.png'
        try:
            Path(failure_shot).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(failure_shot)
            print(f'   page at failure: {failure_shot}', file=sys.stderr)
            for entry in driver.get_log('browser'):
                print(f"   console {entry['level']}: {entry['message']}", file=sys.stderr)
        except WebDriverException:
            pass  # the browser itself is gone; the message above is all there is
        return 1
    finally:
        driver.quit()
    print('PASS: storefront end-to-end test')
    return 0


if __name__ == '__main__':
    sys.exit(main())
