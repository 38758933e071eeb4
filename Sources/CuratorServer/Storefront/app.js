// Curator Shop: the browser storefront over the Curator HTTP API (see the /v1 endpoints).
// Plain ES module, no build step, no libraries. Every DOM node is built with textContent
// (never innerHTML) so product data cannot inject markup.

import { STRINGS } from './i18n.js';
import { barChart } from './chart.js';

const STORAGE_KEYS = { lang: 'curator.lang', shopper: 'curator.shopper', category: 'curator.category', session: 'curator.session' };
// In sessionStorage only (this tab, gone when it closes): the admin API key an operator typed on the models page.
const ADMIN_KEY_STORAGE = 'curator.adminKey';
const NEW_SHOPPER = 'new';
const METRICS = ['precision', 'recall', 'ndcg', 'hr', 'mrr'];

const state = {
  // The page holds no API key: a session token from POST /v1/sessions lets it record events and
  // read recommendations for its own (anonymous) shopper only. { token, shopper, expiresAt }
  session: null,
  config: { existing_shoppers: false },
  lang: 'en',
  shopper: '',
  category: '',
  query: '',
  departments: [],
  categories: [],
  shoppers: [],
  products: new Map(), // product_id → product, so rec cards know their category
  routeToken: 0, // bumps on each render; a slower, older render must not overwrite a newer one
  shelfToken: 0,
  shelfVersion: 0,
  // The served list a card click came from, until the product page it opens takes it:
  // { productId, recommendationId, position }.
  pendingOrigin: null,
  // The list the product page on show was reached from (same shape), or null.
  productOrigin: null,
  onlineGroup: 'model', // the models page's online figures: per day and model, or per day and variant
  onlineRequest: 0,
  // The shopper's choice about personalised recommendations, as the server last said:
  // { shopper, personalised: true | false | null (not known yet) }.
  personalisation: { shopper: null, personalised: null },
  personalisationRequest: 0, // bumps on each read or change; an older answer must not win
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- text

function t(key, vars = {}) {
  const text = STRINGS[state.lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

// A server value (model name, evidence source, event type) in the page's language; unknown
// values, e.g. a model added to the server later, show as they are.
function label(prefix, value) {
  const key = `${prefix}_${value}`;
  return STRINGS[state.lang][key] ?? STRINGS.en[key] ?? String(value ?? '—');
}

function locale() {
  return state.lang === 'zh' ? 'zh-CN' : 'en-GB';
}

function formatPrice(price) {
  const value = Number(price);
  if (price === null || price === undefined || price === '' || !Number.isFinite(value)) return t('noPrice');
  return value.toLocaleString(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function formatDate(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

function formatNumber(value) {
  return Number(value ?? 0).toLocaleString(locale());
}

// Store pseudonyms are "~" and 32 hex digits; the first few identify a shopper well enough in a menu.
function shortShopper(id) {
  return id.length > 12 ? `${id.slice(0, 9)}…` : id;
}

// ---------------------------------------------------------------- DOM helpers

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attributes);
  node.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

function setAttributes(node, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

// ---------------------------------------------------------------- preferences

function loadPreference(key) {
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return ''; // storage can be disabled; the page still works without memory
  }
}

function savePreference(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Same as above: remembering is a nicety.
  }
}

function loadAdminKey() {
  try {
    return sessionStorage.getItem(ADMIN_KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

function saveAdminKey(key) {
  try {
    if (key) sessionStorage.setItem(ADMIN_KEY_STORAGE, key);
    else sessionStorage.removeItem(ADMIN_KEY_STORAGE);
  } catch {
    // Without storage the key lasts as long as the input holds it.
  }
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// `key`: an API key the operator typed, sent instead of the session token (and never replaced by a
// new session when refused). `renew: false`: a refused token is not replaced by a new session
// either, for requests that only make sense for the shopper they started as.
async function api(path, { method = 'GET', body, retried = false, key = null, renew = true } = {}) {
  const headers = { Accept: 'application/json' };
  // The token speaks for the session's shopper only; an existing shopper picked in an open demo
  // server (config.existing_shoppers) is acted as without one.
  const token = key ? null : state.session && state.shopper === state.session.shopper ? await sessionToken() : null;
  if (key) headers.Authorization = `Bearer ${key}`;
  else if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(t('networkError'), 0);
  }
  // A token the server no longer accepts (it restarted with another secret): a new session, once.
  if (response.status === 401 && token && renew && !retried) {
    await startSession();
    return api(path, { method, body, retried: true });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    if (response.ok) throw new ApiError(t('badResponse'), response.status);
  }
  if (!response.ok) {
    const message = data?.error?.message ?? `${response.status} ${response.statusText}`;
    throw new ApiError(message, response.status);
  }
  return data;
}

// ---------------------------------------------------------------- sessions

const RENEW_BEFORE_MS = 5 * 60 * 1000;
let sessionRequest = null; // one session request at a time, shared by concurrent callers

async function requestSession(token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch('/v1/sessions', { method: 'POST', headers });
  } catch {
    throw new ApiError(t('networkError'), 0);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(data?.error?.message ?? `${response.status} ${response.statusText}`, response.status);
  return { token: data.token, shopper: data.shopper, expiresAt: Date.parse(data.expires_at) };
}

function keepSession(session) {
  state.session = session;
  savePreference(STORAGE_KEYS.session, JSON.stringify(session));
}

// A new anonymous shopper; the page acts as them from now on.
async function startSession() {
  sessionRequest ??= requestSession(null).finally(() => { sessionRequest = null; });
  keepSession(await sessionRequest);
  state.shopper = state.session.shopper;
  savePreference(STORAGE_KEYS.shopper, state.shopper);
  return state.session;
}

// The current token, renewed shortly before it expires (same shopper); an expired one is
// replaced by a new anonymous session.
async function sessionToken() {
  const session = state.session;
  if (!session) return null;
  const left = session.expiresAt - Date.now();
  if (left > RENEW_BEFORE_MS) return session.token;
  if (left > 0) {
    try {
      sessionRequest ??= requestSession(session.token).finally(() => { sessionRequest = null; });
      keepSession(await sessionRequest);
      return state.session.token;
    } catch {
      // Too old to renew, or refused: start over below.
    }
  }
  return (await startSession()).token;
}

function restoreSession() {
  try {
    const saved = JSON.parse(loadPreference(STORAGE_KEYS.session) || 'null');
    if (saved?.token && saved?.shopper && saved.expiresAt > Date.now()) return saved;
  } catch {
    // A damaged entry is as good as none.
  }
  return null;
}

function rememberProducts(items) {
  for (const item of items) if (item.category !== undefined) state.products.set(item.product_id, item);
}

// Recommendation items carry no category; look up the few the page has not seen yet.
async function ensureProducts(ids) {
  const missing = [...new Set(ids)].filter((id) => !state.products.has(id));
  const found = await Promise.all(
    missing.map((id) => api(`/v1/products/${encodeURIComponent(id)}`).catch(() => null)),
  );
  rememberProducts(found.filter(Boolean));
}

// ---------------------------------------------------------------- status area

function showError(context, error) {
  $('status-text').textContent = `${context}: ${error.message}`;
  $('status').hidden = false;
}

function clearError() {
  $('status').hidden = true;
  $('status-text').textContent = '';
}

// ---------------------------------------------------------------- header controls

function applyStaticText() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('shopName');
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll('[data-i18n-aria-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
  }
  $('lang-select').value = state.lang;
}

function renderCategorySelect() {
  const select = $('category-select');
  const options = [el('option', { value: '' }, t('allDepartments'))];
  for (const department of state.departments) {
    options.push(el('option', { value: department.name, 'data-kind': 'department' },
      `${department.name} (${formatNumber(department.count)})`));
    const prefix = `${department.name} > `;
    for (const category of state.categories.filter((c) => c.name.startsWith(prefix))) {
      // Indented under its department; the no-break spaces survive in every browser's menu.
      options.push(el('option', { value: category.name, 'data-kind': 'category' },
        `\u00a0\u00a0\u00a0${category.name.slice(prefix.length)} (${formatNumber(category.count)})`));
    }
  }
  select.replaceChildren(...options);
  select.value = state.category;
  // A remembered filter whose department has since gone from the catalogue is dropped.
  if (select.value !== state.category && state.departments.length > 0) state.category = '';
}

function renderShopperSelect() {
  const select = $('shopper-select');
  const options = [el('option', { value: NEW_SHOPPER }, t('newShopper'))];
  const known = new Set();
  for (const shopper of state.shoppers) {
    known.add(shopper.shopper);
    const parts = [shortShopper(shopper.shopper), t('eventCount', { n: formatNumber(shopper.events) })];
    if (shopper.top_category) parts.push(shopper.top_category);
    options.push(el('option', { value: shopper.shopper, title: shopper.shopper }, parts.join(' · ')));
  }
  // A remembered shopper who is no longer among the 20 most recent stays selectable (open demo servers only).
  if (state.config.existing_shoppers && !isNewShopper(state.shopper) && !known.has(state.shopper)) {
    options.push(el('option', { value: state.shopper }, shortShopper(state.shopper)));
  }
  select.replaceChildren(...options);
  select.value = isNewShopper(state.shopper) ? NEW_SHOPPER : state.shopper;
}

// The session's own anonymous shopper stands for the "New shopper" entry.
function isNewShopper(id) {
  return !id || id === state.session?.shopper;
}

async function loadCategories() {
  try {
    const data = await api('/v1/categories');
    state.departments = data.departments ?? [];
    state.categories = data.categories ?? [];
  } catch (error) {
    showError(t('errorCategories'), error);
  }
  renderCategorySelect();
}

// Listing shoppers needs an admin key unless the server is an open demo; the page never holds a
// key, so otherwise it offers new shoppers only (and asks for nothing it would be refused).
async function loadShoppers() {
  if (!state.config.existing_shoppers) {
    state.shoppers = [];
    renderShopperSelect();
    return;
  }
  try {
    const data = await api('/v1/shoppers?limit=20');
    state.shoppers = data.shoppers ?? [];
  } catch (error) {
    showError(t('errorShoppers'), error);
  }
  renderShopperSelect();
}

async function onShopperChange(event) {
  const value = event.target.value;
  if (value === NEW_SHOPPER) {
    try {
      await startSession();
    } catch (error) {
      showError(t('errorConfig'), error);
      return;
    }
  } else {
    state.shopper = value;
    savePreference(STORAGE_KEYS.shopper, state.shopper);
  }
  setPrivacyStatus('');
  renderShopperSelect();
  syncPersonalisation();
  refreshShelf();
}

function onLanguageChange(event) {
  state.lang = event.target.value === 'zh' ? 'zh' : 'en';
  savePreference(STORAGE_KEYS.lang, state.lang);
  applyStaticText();
  renderCategorySelect();
  renderShopperSelect();
  renderRoute({ navigated: false });
  refreshShelf();
}

function onCategoryChange(event) {
  state.category = event.target.value;
  savePreference(STORAGE_KEYS.category, state.category);
  showGrid();
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Semantic search runs the language model on the server, so wait until typing pauses. Only a
// changed query counts: a pause after Enter already ran the search must not pull a shopper who
// has since opened a product back to the results.
const searchSoon = debounce(() => {
  if ($('search-input').value.trim() !== state.query) runSearch();
}, 400);

function runSearch() {
  const query = $('search-input').value.trim();
  if (query === state.query && parseRoute().name === 'grid') return;
  state.query = query;
  showGrid();
}

function showGrid() {
  if (parseRoute().name === 'grid') renderRoute({ navigated: false });
  else location.hash = '#/';
}

// ---------------------------------------------------------------- privacy: personalisation and erasure

// GET/PUT /v1/shoppers/{id}/preferences and DELETE /v1/shoppers/{id}, with the session token of
// the shopper they are about (never renewed into another shopper's token: renew: false).

function preferencesPath(shopper) {
  return `/v1/shoppers/${encodeURIComponent(shopper)}/preferences`;
}

function renderPersonalisationSwitch() {
  const input = $('personalised-switch');
  const { personalised } = state.personalisation;
  input.checked = personalised !== false;
  // Unknown while it loads (the page does not show a choice it has not read yet).
  input.disabled = personalised === null;
}

// Reads the shopper's choice when the page acts as a shopper it has not read it for (a shopper
// picked, a new session, a session renewed as a new shopper behind the scenes).
function syncPersonalisation() {
  if (state.shopper && state.personalisation.shopper !== state.shopper) loadPersonalisation();
}

async function loadPersonalisation() {
  const shopper = state.shopper;
  const request = ++state.personalisationRequest;
  state.personalisation = { shopper, personalised: null };
  renderPersonalisationSwitch();
  let personalised = true; // the server's default, kept if the read fails
  try {
    const data = await api(preferencesPath(shopper), { renew: false });
    personalised = data?.personalised !== false;
  } catch (error) {
    if (request === state.personalisationRequest) showError(t('errorPreferences'), error);
  }
  if (request !== state.personalisationRequest) return;
  state.personalisation = { shopper, personalised };
  renderPersonalisationSwitch();
}

async function onPersonalisedChange(event) {
  const input = event.target;
  const shopper = state.shopper;
  const wanted = input.checked;
  const request = ++state.personalisationRequest;
  input.disabled = true;
  try {
    const data = await api(preferencesPath(shopper), { method: 'PUT', body: { personalised: wanted }, renew: false });
    if (request === state.personalisationRequest) state.personalisation = { shopper, personalised: data?.personalised !== false };
  } catch (error) {
    showError(t('errorPreferences'), error);
  }
  if (request !== state.personalisationRequest) return;
  // After a failure this shows the choice as it was.
  renderPersonalisationSwitch();
  if (shopper === state.shopper) await refreshShelf();
}

function setPrivacyStatus(text) {
  $('privacy-status').textContent = text;
}

// Erases everything stored about the shopper, then carries on as a new shopper.
async function onEraseData() {
  const button = $('erase-data');
  const shopper = state.shopper;
  if (!shopper || !window.confirm(t('eraseConfirm'))) return;
  button.disabled = true;
  try {
    await api(`/v1/shoppers/${encodeURIComponent(shopper)}`, { method: 'DELETE', renew: false });
  } catch (error) {
    // 404: nothing was stored about them, which is what was asked for.
    if (error.status !== 404) {
      button.disabled = false;
      showError(t('errorErase'), error);
      return;
    }
  }
  // Nothing the page kept may credit the erased shopper's lists any more.
  state.pendingOrigin = null;
  state.productOrigin = null;
  try {
    await startSession();
  } catch (error) {
    showError(t('errorConfig'), error);
  }
  button.disabled = false;
  setPrivacyStatus(t('erased'));
  await loadShoppers();
  syncPersonalisation();
  await refreshShelf();
}

// ---------------------------------------------------------------- routing

function parseRoute() {
  const hash = location.hash || '#/';
  const product = hash.match(/^#\/product\/([^/?#]+)$/);
  if (product) return { name: 'product', id: decodeURIComponent(product[1]) };
  if (hash === '#/models') return { name: 'models' };
  return { name: 'grid' };
}

// `navigated`: the shopper arrived at this page (rather than the language changing under it), so a
// product page records a view and focus moves to the new content.
async function renderRoute({ navigated }) {
  const route = parseRoute();
  const token = ++state.routeToken;
  const pendingOrigin = state.pendingOrigin;
  state.pendingOrigin = null;
  state.productOrigin = null;
  $('shelf').hidden = route.name === 'models';
  document.body.dataset.route = route.name;
  for (const link of document.querySelectorAll('.main-nav a')) {
    const current = (link.getAttribute('href') === '#/models') === (route.name === 'models');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const main = $('main');
  main.replaceChildren(el('p', { class: 'muted' }, t('loading')));
  if (navigated) window.scrollTo(0, 0);
  try {
    if (route.name === 'product') await renderProduct(token, route.id, navigated, pendingOrigin);
    else if (route.name === 'models') await renderModels(token);
    else await renderGrid(token);
    if (navigated && isCurrent(token)) focusHeading();
  } catch (error) {
    if (token !== state.routeToken) return;
    main.replaceChildren(el('h1', {}, t('somethingWrong')), el('p', {}, error.message));
    showError(t('errorPage'), error);
  }
}

function isCurrent(token) {
  return token === state.routeToken;
}

// Moves focus to the new view on navigation, so keyboard and screen-reader users land on it.
function focusHeading() {
  const heading = $('main').querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

// ---------------------------------------------------------------- served lists: impressions and origins

// Every list the server serves (the shelf, similar products, search results) has a
// recommendation_id and numbers its cards from 1. The page reports which cards became visible
// (POST /v1/impressions), and a click on a card, with what the shopper then does on the product
// page it opened, names the list (recommendation_id on the event), so the server can credit it.

const IMPRESSION_THRESHOLD = 0.5; // half of a card in view counts as seen
const IMPRESSION_BATCH_MS = 500;

const impressions = {
  observer: null,
  watched: new Set(), // cards observed, until seen or gone from the page
  // recommendation_id → { size, shopper, reported: Set of positions, pending: Map position → card }
  lists: new Map(),
  timer: null,
};

// The attributes that tie a card to its list; none for a card of a list without an id (browsing).
function listAttributes(list, position) {
  if (!list?.id || !Number.isInteger(position)) return {};
  return { 'data-recommendation-id': list.id, 'data-position': position };
}

// A served list as the page keeps it: its id and length, and the shopper it was served to. Null
// for an answer without an id (the catalogue browsed in pages is not a served list).
function servedList(data, items) {
  const id = data?.recommendation_id;
  if (typeof id !== 'string' || id === '') return null;
  if (!impressions.lists.has(id)) {
    impressions.lists.set(id, { size: items.length, shopper: state.shopper, reported: new Set(), pending: new Map() });
  }
  return { id, size: items.length };
}

// Starts watching the cards of served lists under `container` (already in the page).
function watchCards(container) {
  if (typeof IntersectionObserver !== 'function') return;
  impressions.observer ??= new IntersectionObserver(onCardsVisible, { threshold: IMPRESSION_THRESHOLD });
  for (const card of impressions.watched) {
    if (!card.isConnected) forgetCard(card);
  }
  for (const card of container.querySelectorAll('[data-recommendation-id][data-position]')) {
    const list = impressions.lists.get(card.dataset.recommendationId);
    if (!list || list.reported.has(Number(card.dataset.position)) || impressions.watched.has(card)) continue;
    impressions.watched.add(card);
    impressions.observer.observe(card);
  }
  // Lists none of whose cards are on the page any more, with nothing left to send, are done.
  const shown = new Set([...impressions.watched].map((card) => card.dataset.recommendationId));
  for (const [id, list] of impressions.lists) {
    if (!shown.has(id) && list.pending.size === 0) impressions.lists.delete(id);
  }
}

function forgetCard(card) {
  impressions.observer?.unobserve(card);
  impressions.watched.delete(card);
}

function onCardsVisible(entries) {
  for (const entry of entries) {
    if (!entry.isIntersecting || entry.intersectionRatio < IMPRESSION_THRESHOLD) continue;
    const card = entry.target;
    forgetCard(card);
    const list = impressions.lists.get(card.dataset.recommendationId);
    const position = Number(card.dataset.position);
    // Only positions of the list as served, each once.
    if (!list || !Number.isInteger(position) || position < 1 || position > list.size || list.reported.has(position)) continue;
    list.reported.add(position);
    list.pending.set(position, card);
  }
  // A batch goes out half a second after its first card was seen, with whatever came meanwhile.
  if (!impressions.timer && [...impressions.lists.values()].some((list) => list.pending.size > 0)) {
    impressions.timer = setTimeout(sendImpressions, IMPRESSION_BATCH_MS);
  }
}

async function sendImpressions() {
  impressions.timer = null;
  const batches = [];
  for (const [id, list] of impressions.lists) {
    if (list.pending.size === 0) continue;
    batches.push({ id, list, cards: list.pending });
    list.pending = new Map();
  }
  await Promise.all(batches.map(async ({ id, list, cards }) => {
    // A list served to a shopper this page no longer acts as is theirs, not ours, to report.
    if (list.shopper !== state.shopper) return;
    const seen = [...cards.keys()].sort((a, b) => a - b);
    try {
      await api('/v1/impressions', { method: 'POST', body: { recommendation_id: id, seen }, renew: false });
      for (const card of cards.values()) card.dataset.seen = 'true';
    } catch {
      // A measurement, not something the shopper asked for: a report that fails is dropped quietly.
    }
  }));
}

// A click on a card of a served list: remembered for the product page it opens, and recorded as
// a click credited to the list.
function followCard(productId, list, position) {
  if (!list?.id) return;
  const origin = { productId, recommendationId: list.id, position };
  if (location.hash === `#/product/${encodeURIComponent(productId)}`) {
    // The product on show already: no new page, but from now on it was reached from this list.
    keepOrigin(origin);
  } else {
    state.pendingOrigin = origin;
  }
  api('/v1/events', {
    method: 'POST',
    body: { user_id: state.shopper, product_id: productId, event: 'click', recommendation_id: list.id },
  }).catch((error) => showError(t('errorEvent'), error));
}

// The list the product page was reached from, kept with its history entry so going back and
// forth returns to a page that still knows it.
function keepOrigin(origin) {
  state.productOrigin = origin;
  try {
    history.replaceState({ ...(history.state ?? {}), origin }, '');
  } catch {
    // Without history state the origin lasts until the page is left.
  }
}

function originFor(productId, pending) {
  if (pending?.productId === productId) return pending;
  const saved = history.state?.origin;
  return saved?.productId === productId && typeof saved.recommendationId === 'string' ? saved : null;
}

// ---------------------------------------------------------------- grid

const PAGE_SIZE = 24;

async function renderGrid(token) {
  const heading = state.query
    ? t('resultsFor', { q: state.query })
    : state.category || t('popularNow');
  const grid = el('ul', { class: 'product-grid' });
  const count = el('p', { class: 'muted' });
  const more = el('div', { class: 'more' });
  const firstPage = await fetchProducts(0);
  if (!isCurrent(token)) return;
  $('main').replaceChildren(el('h1', {}, heading), count, grid, more);
  showPage(token, firstPage, 0, { grid, count, more });
}

function fetchProducts(offset) {
  const params = new URLSearchParams({ k: String(PAGE_SIZE), offset: String(offset) });
  if (state.query) params.set('q', state.query);
  if (state.category) params.set('category', state.category);
  return api(`/v1/products?${params}`);
}

function showPage(token, page, offset, { grid, count, more }) {
  const items = page.items ?? [];
  rememberProducts(items);
  // Search results are a served list (an id, positions); pages of the catalogue are not.
  const list = servedList(page, items);
  grid.append(...items.map((product) => el('li', {}, productCard(product, 'product-card', null, list, product.position))));
  watchCards(grid);
  const shown = offset + items.length;
  const total = page.total ?? shown;
  count.textContent = countText(shown, total);
  more.replaceChildren();
  if (shown < total && items.length > 0) {
    const button = el('button', { type: 'button', class: 'secondary' }, t('showMore'));
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        const next = await fetchProducts(shown);
        if (isCurrent(token)) showPage(token, next, shown, { grid, count, more });
      } catch (error) {
        button.disabled = false;
        showError(t('errorProducts'), error);
      }
    });
    more.append(button);
  }
}

// With q the server answers only the k closest products (no offset; total = the page), so no "of N".
function countText(shown, total) {
  if (total === 0) return t('noProducts');
  if (state.query) return t('searchCount', { n: formatNumber(shown) });
  return t('productCount', { shown: formatNumber(shown), total: formatNumber(total) });
}

// `list` and `position`: the served list the card belongs to, if any (see servedList).
function productCard(product, testId, reason, list = null, position = null) {
  return el('a', {
    class: 'card',
    href: `#/product/${encodeURIComponent(product.product_id)}`,
    'data-testid': testId,
    'data-product-id': product.product_id,
    'data-category': product.category ?? '',
    ...listAttributes(list, position),
    onclick: list ? () => followCard(product.product_id, list, position) : null,
  },
  el('span', { class: 'card-category' }, product.category ?? ''),
  el('span', { class: 'card-title' }, product.title),
  el('span', { class: 'card-brand' }, product.brand ?? ''),
  reason ? el('span', { class: 'card-reason' }, reason) : null,
  el('span', { class: 'card-price' }, formatPrice(product.price)));
}

// ---------------------------------------------------------------- product page

const ACTIONS = [
  { event: 'cart', label: 'addToCart', done: 'addedToCart', testId: 'action-cart' },
  { event: 'favorite', label: 'favourite', done: 'favourited', testId: 'action-favorite' },
  { event: 'purchase', label: 'buy', done: 'purchased', testId: 'action-purchase' },
];

async function renderProduct(token, id, navigated, pendingOrigin) {
  const product = await api(`/v1/products/${encodeURIComponent(id)}`);
  if (!isCurrent(token)) return;
  rememberProducts([product]);
  const origin = originFor(product.product_id, pendingOrigin);
  if (origin) keepOrigin(origin);
  const actionStatus = el('p', { class: 'action-status', role: 'status', 'aria-live': 'polite' });
  const similar = el('section', { class: 'similar', 'aria-labelledby': 'similar-heading' },
    el('h2', { id: 'similar-heading' }, t('similarTitle')),
    el('p', { class: 'muted' }, t('loading')));
  $('main').replaceChildren(
    el('p', { class: 'back' }, el('a', { href: '#/' }, `← ${t('backToShop')}`)),
    el('article', { class: 'product' },
      el('p', { class: 'card-category' }, product.category ?? ''),
      el('h1', { 'data-testid': 'product-title' }, product.title),
      el('p', { class: 'product-brand' }, t('byBrand', { brand: product.brand ?? '' })),
      el('p', { class: 'product-price' }, formatPrice(product.price),
        el('span', { class: product.in_stock === false ? 'badge out' : 'badge' },
          product.in_stock === false ? t('outOfStock') : t('inStock'))),
      el('p', { class: 'product-description' }, product.description ?? ''),
      el('div', { class: 'actions' }, ACTIONS.map((action) => actionButton(product, action, actionStatus))),
      actionStatus),
    similar);
  if (navigated) recordEvent('view', product.product_id).catch((error) => showError(t('errorEvent'), error));
  // Not awaited: the page is usable while similar products load, and renderSimilar reports its own errors.
  renderSimilar(token, product.product_id, similar);
}

function actionButton(product, action, statusLine) {
  const button = el('button', { type: 'button', class: `action action-${action.event}`, 'data-testid': action.testId },
    t(action.label));
  button.addEventListener('click', async () => {
    button.disabled = true;
    statusLine.textContent = t('saving');
    // Credited to the list the page was reached from, if it was; a purchase at the shown price.
    const origin = state.productOrigin?.productId === product.product_id ? state.productOrigin : null;
    const details = { recommendation_id: origin?.recommendationId };
    if (action.event === 'purchase' && product.price !== null && product.price !== undefined && product.price !== '') {
      details.price = product.price;
      details.quantity = 1;
    }
    try {
      await recordEvent(action.event, product.product_id, details);
      statusLine.textContent = t(action.done, { title: product.title });
    } catch (error) {
      statusLine.textContent = t('eventFailed', { message: error.message });
      showError(t('errorEvent'), error);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

async function renderSimilar(token, id, section) {
  let data;
  try {
    data = await api(`/v1/products/${encodeURIComponent(id)}/similar?k=6&lang=${state.lang}`);
    await ensureProducts((data.items ?? []).map((item) => item.product_id));
  } catch (error) {
    if (isCurrent(token)) section.lastChild.textContent = `${t('errorSimilar')}: ${error.message}`;
    return;
  }
  if (!isCurrent(token)) return;
  const items = data.items ?? [];
  const list = servedList(data, items);
  const cards = items.map((item) => {
    const product = state.products.get(item.product_id) ?? { product_id: item.product_id, title: item.title };
    return el('li', {}, productCard(product, 'similar-card', item.reason, list, item.position));
  });
  const content = items.length
    ? el('ul', { class: 'product-grid compact' }, cards)
    : el('p', { class: 'muted' }, t('noSimilar'));
  section.lastChild.replaceWith(content);
  watchCards(content);
}

// Records one event for the current shopper, then lets the shelf learn from it. `details`: more
// fields of the event (recommendation_id, price, quantity); undefined ones are left out.
async function recordEvent(event, productId, details = {}) {
  await api('/v1/events', { method: 'POST', body: { user_id: state.shopper, product_id: productId, event, ...details } });
  await refreshShelf();
}

// ---------------------------------------------------------------- recommendation shelf

async function refreshShelf() {
  const token = ++state.shelfToken;
  $('shelf').setAttribute('aria-busy', 'true');
  let data = null;
  let failure = null;
  try {
    const path = `/v1/shoppers/${encodeURIComponent(state.shopper)}/recommendations?k=8&lang=${state.lang}`;
    data = await api(path);
    await ensureProducts((data.items ?? []).map((item) => item.product_id));
  } catch (error) {
    failure = error;
  }
  if (token !== state.shelfToken) return; // a newer refresh is on its way
  if (failure) renderShelfError(failure);
  else renderShelf(data);
  $('shelf').removeAttribute('aria-busy');
  // Tests wait on this number to know the shelf reflects the latest action.
  state.shelfVersion += 1;
  $('shelf-status').dataset.version = String(state.shelfVersion);
  syncPersonalisation();
}

function renderShelf(data) {
  const items = data.items ?? [];
  // Personalisation off: the server's lists use none of the shopper's history and say so per item.
  const off = items.length > 0
    ? items.every((i) => i.evidence?.source === PERSONALISATION_OFF)
    : state.personalisation.shopper === state.shopper && state.personalisation.personalised === false;
  const popular = !off && (data.model === 'popular' || (items.length > 0 && items.every((i) => i.evidence?.source === 'popular')));
  const status = $('shelf-status');
  status.dataset.model = data.model ?? '';
  if (off) status.textContent = t('shelfPersonalisationOff');
  else if (items.length === 0) status.textContent = t('shelfEmpty');
  else if (popular) status.textContent = t('shelfPopular');
  else status.textContent = t('shelfPersonal', { n: items.length, model: modelName(data.model) });
  status.classList.toggle('popular', popular);
  status.classList.toggle('personalisation-off', off);
  const list = servedList(data, items);
  $('shelf-list').dataset.recommendationId = list?.id ?? '';
  $('shelf-list').replaceChildren(...items.map((item, index) => recCard(item, data.model, index, list)));
  watchCards($('shelf-list'));
}

function renderShelfError(error) {
  const status = $('shelf-status');
  status.textContent = `${t('errorShelf')}: ${error.message}`;
  status.dataset.model = '';
  status.classList.remove('popular', 'personalisation-off');
  $('shelf-list').dataset.recommendationId = '';
  $('shelf-list').replaceChildren();
  showError(t('errorShelf'), error);
}

function recCard(item, model, index, list) {
  const product = state.products.get(item.product_id);
  const evidenceId = `evidence-${index}`;
  const evidence = el('div', { class: 'evidence', id: evidenceId, 'data-testid': 'rec-evidence', hidden: true },
    evidenceList(item.evidence ?? {}));
  const why = el('button', {
    type: 'button', class: 'why', 'data-testid': 'rec-why', 'aria-expanded': 'false', 'aria-controls': evidenceId,
  }, t('why'));
  why.addEventListener('click', () => {
    const open = why.getAttribute('aria-expanded') !== 'true';
    why.setAttribute('aria-expanded', String(open));
    evidence.hidden = !open;
  });
  const position = item.position ?? index + 1;
  return el('li', {
    class: 'rec-card',
    'data-testid': 'rec-card',
    'data-product-id': item.product_id,
    'data-category': product?.category ?? '',
    'data-source': item.evidence?.source ?? '',
    ...listAttributes(list, position),
  },
  el('a', {
    class: 'rec-title',
    'data-testid': 'rec-link',
    href: `#/product/${encodeURIComponent(item.product_id)}`,
    onclick: list ? () => followCard(item.product_id, list, position) : null,
  }, item.title ?? product?.title ?? item.product_id),
  el('p', { class: 'rec-reason', 'data-testid': 'rec-reason' }, item.reason ?? ''),
  el('p', { class: 'rec-meta' },
    el('span', { class: 'model-chip' }, t('modelLabel', { model: modelName(model) })),
    why),
  evidence);
}

const PERSONALISATION_OFF = 'personalisation_off';

function evidenceList(evidence) {
  const rows = [[t('evidenceSource'), label('source', evidence.source)]];
  if (evidence.shared_brand) rows.push([t('sharedBrand'), evidence.shared_brand]);
  if (evidence.shared_category) rows.push([t('sharedCategory'), evidence.shared_category]);
  // With personalisation off nothing the shopper did is used, so nothing of it is cited.
  const history = evidence.source === PERSONALISATION_OFF ? [] : evidence.history_items ?? [];
  return [
    el('dl', {}, rows.map(([term, value]) => [el('dt', {}, term), el('dd', {}, value)])),
    history.length ? el('p', { class: 'evidence-heading' }, t('becauseOf')) : null,
    history.length ? el('ul', { class: 'history', 'data-testid': 'evidence-history' }, history.map(historyItem)) : null,
  ];
}

function historyItem(item) {
  const similarity = Number.isFinite(item.similarity) ? `${Math.round(item.similarity * 100)}%` : '—';
  return el('li', {},
    el('a', { href: `#/product/${encodeURIComponent(item.product_id)}` }, item.title ?? item.product_id),
    ` — ${label('event', item.event)}, ${t('similarity', { pct: similarity })}`);
}

function modelName(name) {
  return name ? label('model', name) : '—';
}

// ---------------------------------------------------------------- models page

async function renderModels(token) {
  const data = await api('/v1/models');
  if (!isCurrent(token)) return;
  const online = onlineSection(token);
  $('main').replaceChildren(
    el('h1', {}, t('modelsTitle')),
    modelSummary(data),
    el('h2', {}, t('evaluationTitle')),
    ...evaluationSection(data.evaluation, data.in_use?.name),
    online.section);
  // Not awaited: the figures come with their own status line.
  online.load();
}

function modelSummary(data) {
  const inUse = data.in_use ?? {};
  const version = inUse.version ? ` · ${t('version', { v: inUse.version })}` : '';
  const trained = inUse.trained_at ? ` · ${t('trainedAt', { date: formatDate(inUse.trained_at) })}` : '';
  const events = data.events ?? {};
  const eventText = eventOrder(Object.keys(events))
    .map((name) => `${label('eventPlural', name)} ${formatNumber(events[name])}`).join(' · ');
  const rows = [
    [t('modelInUse'), `${modelName(inUse.name)}${version}${trained}`],
    [t('catalogueProducts'), formatNumber(data.catalogue?.products)],
    [t('shopperCount'), formatNumber(data.shoppers)],
    [t('eventCounts'), eventText || '0'],
    [t('trainedModels'), (data.models ?? []).map((m) => `${modelName(m.name)} v${m.version}`).join(', ') || '—'],
  ];
  return el('dl', { class: 'summary' }, rows.map(([term, value]) => el('div', {}, el('dt', {}, term), el('dd', {}, value))));
}

// The funnel order (view → purchase), then any event type the server adds later.
function eventOrder(names) {
  const funnel = ['view', 'click', 'cart', 'favorite', 'purchase'];
  return [...funnel.filter((name) => names.includes(name)), ...names.filter((name) => !funnel.includes(name))];
}

function evaluationSection(evaluation, inUseName) {
  if (!evaluation) {
    return [el('p', { class: 'notice' }, t('noEvaluation'), ' ', el('code', {}, 'curator split && curator evaluate'))];
  }
  const names = Object.keys(evaluation.models ?? {});
  return [
    el('p', { class: 'muted' }, t('evaluationMeta', {
      date: formatDate(evaluation.created_at), split: evaluation.split ?? '—',
      part: evaluation.part ?? '—', n: formatNumber(evaluation.shoppers),
    })),
    el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': t('evaluationTitle') },
      evaluationTable(evaluation, names, inUseName)),
    el('h2', {}, t('chartTitle')),
    chartFigure(evaluation, names),
  ];
}

// One column per metric and cut-off the evaluation holds, e.g. Precision@5 … MRR@20.
function metricColumns(evaluation, names) {
  const ks = evaluation.k ?? [];
  const columns = [];
  for (const k of ks) {
    for (const metric of METRICS) {
      const key = `${metric}@${k}`;
      if (names.some((name) => typeof evaluation.models[name][key] === 'number')) columns.push({ key, metric, k });
    }
  }
  return columns;
}

function evaluationTable(evaluation, names, inUseName) {
  const columns = metricColumns(evaluation, names);
  const best = Object.fromEntries(columns.map(({ key }) =>
    [key, Math.max(...names.map((name) => evaluation.models[name][key] ?? -Infinity))]));
  // Two header rows: the cut-off K over its group of metrics keeps the columns narrow.
  const ks = [...new Set(columns.map((c) => c.k))];
  const groups = el('tr', {}, el('th', { scope: 'col', rowspan: 2 }, t('model')),
    ks.map((k) => el('th', { scope: 'colgroup', colspan: columns.filter((c) => c.k === k).length, class: 'k-group' }, `@${k}`)));
  const metrics = el('tr', {},
    columns.map(({ metric, k }) => el('th', { scope: 'col', title: `${label('metric', metric)}@${k}` }, label('metric', metric))));
  const body = names.map((name) => el('tr', { class: name === inUseName ? 'in-use' : null, 'data-model': name },
    el('th', { scope: 'row' }, modelName(name), name === inUseName ? el('span', { class: 'badge' }, t('inUse')) : null),
    columns.map(({ key }) => {
      const value = evaluation.models[name][key];
      const text = typeof value === 'number' ? value.toFixed(4) : '—';
      return el('td', {}, value === best[key] && names.length > 1 ? el('strong', {}, text) : text);
    })));
  return el('table', { class: 'models-table', 'data-testid': 'models-table' },
    el('caption', {}, t('tableCaption')),
    el('thead', {}, groups, metrics),
    el('tbody', {}, body));
}

function chartFigure(evaluation, names) {
  const series = [
    { key: 'ndcg@10', label: `${label('metric', 'ndcg')}@10`, className: 'bar-ndcg' },
    { key: 'recall@10', label: `${label('metric', 'recall')}@10`, className: 'bar-recall' },
  ];
  const rows = names.map((name) => ({
    label: modelName(name),
    values: series.map((s) => evaluation.models[name][s.key] ?? 0),
  }));
  const chart = barChart({ rows, series, title: t('chartTitle'), description: t('chartDescription') });
  chart.setAttribute('data-testid', 'models-chart');
  return el('figure', { class: 'chart' }, chart, el('figcaption', { class: 'muted' }, t('chartDescription')));
}

// ---------------------------------------------------------------- online figures (models page)

// What served lists earned (GET /v1/metrics/online): admin only. The page holds no key, so an
// operator types one; it is sent with this request only (never the session token) and kept in
// sessionStorage, for this tab.

const ONLINE_GROUPS = ['model', 'variant'];
const ONLINE_DAYS = 7;

function onlineSection(token) {
  const key = el('input', {
    id: 'online-key', type: 'password', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'online-key',
  });
  key.value = loadAdminKey();
  const group = el('select', { id: 'online-group', 'data-testid': 'online-group' },
    ONLINE_GROUPS.map((name) => el('option', { value: name }, t(`onlineGroup_${name}`))));
  group.value = state.onlineGroup;
  const forget = el('button', { type: 'button', class: 'link-button' }, t('onlineForget'));
  const form = el('form', { class: 'online-controls', 'aria-labelledby': 'online-heading' },
    el('div', { class: 'field' }, el('label', { for: 'online-key' }, t('onlineKeyLabel')), key),
    el('div', { class: 'field' }, el('label', { for: 'online-group' }, t('onlineGroupLabel')), group),
    el('div', { class: 'online-buttons' }, el('button', { type: 'submit', class: 'secondary' }, t('onlineShow')), forget));
  const status = el('p', { class: 'online-status muted', 'data-testid': 'online-status', role: 'status', 'aria-live': 'polite' });
  const result = el('div', { class: 'online-result' });
  const view = { key, status, result };
  const load = () => loadOnline(token, view);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    saveAdminKey(key.value.trim());
    load();
  });
  group.addEventListener('change', () => {
    state.onlineGroup = ONLINE_GROUPS.includes(group.value) ? group.value : 'model';
    load();
  });
  forget.addEventListener('click', () => {
    key.value = '';
    saveAdminKey('');
    load();
  });
  const section = el('section', { class: 'online', 'aria-labelledby': 'online-heading' },
    el('h2', { id: 'online-heading' }, t('onlineTitle')),
    el('p', { class: 'muted' }, t('onlineIntro', { days: ONLINE_DAYS })),
    form, status, result);
  return { section, load };
}

function setOnlineStatus(view, kind, text) {
  view.status.dataset.state = kind;
  view.status.textContent = text;
  view.status.classList.toggle('refused', kind === 'refused' || kind === 'error');
}

// Midnight UTC (the report's days are UTC days) ONLINE_DAYS - 1 days ago: whole days only.
function onlineSince() {
  const now = new Date();
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (ONLINE_DAYS - 1));
  return new Date(start).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function loadOnline(token, view) {
  const request = ++state.onlineRequest;
  const stale = () => request !== state.onlineRequest || !isCurrent(token);
  const key = view.key.value.trim();
  const group = state.onlineGroup;
  if (!key) {
    setOnlineStatus(view, 'hint', t('onlineHint'));
    view.result.replaceChildren();
    return;
  }
  setOnlineStatus(view, 'loading', t('loading'));
  const params = new URLSearchParams({ since: onlineSince(), group_by: `day,${group}` });
  let report;
  try {
    report = await api(`/v1/metrics/online?${params}`, { key });
  } catch (error) {
    if (stale()) return;
    view.result.replaceChildren();
    if (error.status === 401 || error.status === 403) setOnlineStatus(view, 'refused', t('onlineRefused'));
    else setOnlineStatus(view, 'error', `${t('onlineError')}: ${error.message}`);
    return;
  }
  if (stale()) return;
  const rows = report?.rows ?? [];
  if (rows.length === 0) {
    setOnlineStatus(view, 'empty', t('onlineEmpty', { days: ONLINE_DAYS }));
    view.result.replaceChildren();
    return;
  }
  setOnlineStatus(view, 'ready', t('onlinePeriod', { since: formatDate(report.since_ms), until: formatDate(report.until_ms) }));
  view.result.replaceChildren(
    el('h3', {}, t(`onlineChartTitle_${group}`)),
    onlineChart(rows, group),
    el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': t(`onlineChartTitle_${group}`) },
      onlineTable(rows, group)));
}

// A report's model ("sequential v1", "popular") or variant ("experiment/variant", "(none)") as shown.
function onlineGroupName(row, group) {
  const value = row.keys?.[group] ?? '';
  if (group === 'variant') return value === '(none)' ? t('onlineNoExperiment') : value;
  const versioned = value.match(/^(.*) v(\d+)$/);
  if (versioned) return `${modelName(versioned[1])} v${versioned[2]}`;
  return value.split('+').map(modelName).join(' + ');
}

function formatPercent(value) {
  return Number(value ?? 0).toLocaleString(locale(), { style: 'percent', maximumFractionDigits: 2 });
}

function formatRate(rate) {
  return `${formatPercent(rate?.value)} (${formatPercent(rate?.low)}–${formatPercent(rate?.high)})`;
}

function formatMoney(value) {
  return Number(value ?? 0).toLocaleString(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function onlineChart(rows, group) {
  const series = [
    { label: t('onlineCtr'), className: 'bar-ctr' },
    { label: t('onlineConversion'), className: 'bar-conversion' },
  ];
  const chartRows = rows.map((row) => ({
    label: [row.keys?.day ?? '', onlineGroupName(row, group)],
    values: [row.ctr?.value ?? 0, row.conversion?.value ?? 0],
    intervals: [[row.ctr?.low ?? 0, row.ctr?.high ?? 0], [row.conversion?.low ?? 0, row.conversion?.high ?? 0]],
  }));
  const chart = barChart({
    rows: chartRows, series, id: 'online-chart', format: formatPercent, formatDetail: formatPercent, formatTick: formatPercent,
    title: t(`onlineChartTitle_${group}`), description: t('onlineChartDescription'),
  });
  chart.setAttribute('data-testid', 'online-chart');
  return el('figure', { class: 'chart' }, chart, el('figcaption', { class: 'muted' }, t('onlineChartDescription')));
}

// One row per day and model (or variant). Each cell carries its raw figure in data-value.
function onlineTable(rows, group) {
  const columns = [
    { field: 'lists', label: t('onlineLists'), text: (row) => formatNumber(row.lists) },
    { field: 'impressions', label: t('onlineImpressions'), text: (row) => formatNumber(row.impressions) },
    { field: 'seen', label: t('onlineSeen'), text: (row) => formatNumber(row.seen) },
    { field: 'clicks', label: t('onlineClicks'), text: (row) => formatNumber(row.clicks) },
    { field: 'ctr', label: t('onlineCtrInterval'), text: (row) => formatRate(row.ctr), rate: true },
    { field: 'purchases', label: t('onlinePurchases'), text: (row) => formatNumber(row.purchases) },
    { field: 'conversion', label: t('onlineConversionInterval'), text: (row) => formatRate(row.conversion), rate: true },
    { field: 'revenue', label: t('onlineRevenue'), text: (row) => formatMoney(row.revenue) },
  ];
  const head = el('tr', {},
    el('th', { scope: 'col' }, t('onlineDay')),
    el('th', { scope: 'col' }, t(group === 'variant' ? 'onlineVariant' : 'model')),
    columns.map((column) => el('th', { scope: 'col' }, column.label)));
  const body = rows.map((row) => el('tr', { 'data-group': row.group ?? '', 'data-day': row.keys?.day ?? '', 'data-key': row.keys?.[group] ?? '' },
    el('td', {}, row.keys?.day ?? ''),
    el('th', { scope: 'row' }, onlineGroupName(row, group)),
    columns.map((column) => {
      const figure = row[column.field];
      const attributes = column.rate
        ? { 'data-field': column.field, 'data-value': figure?.value ?? 0, 'data-low': figure?.low ?? 0, 'data-high': figure?.high ?? 0 }
        : { 'data-field': column.field, 'data-value': figure ?? 0 };
      return el('td', attributes, column.text(row));
    })));
  return el('table', { class: 'models-table online-table', 'data-testid': 'online-table' },
    el('caption', {}, t('onlineTableCaption')),
    el('thead', {}, head),
    el('tbody', {}, body));
}

// ---------------------------------------------------------------- start

async function loadConfig() {
  try {
    state.config = { ...state.config, ...(await api('/storefront/config.json')) };
  } catch (error) {
    showError(t('errorConfig'), error);
  }
}

// The shopper of a still-valid saved session (or an existing shopper on an open demo server);
// otherwise a new anonymous session.
async function restoreShopper() {
  state.session = restoreSession();
  const saved = loadPreference(STORAGE_KEYS.shopper);
  if (saved && (saved === state.session?.shopper || state.config.existing_shoppers && saved !== '')) {
    state.shopper = saved;
    return;
  }
  try {
    await startSession();
  } catch (error) {
    showError(t('errorConfig'), error);
  }
}

// A shopper's own choice wins; before there is one, the browser's language decides (a zh-CN,
// zh-TW or zh-HK browser opens in Chinese).
function restorePreferences() {
  const saved = loadPreference(STORAGE_KEYS.lang);
  const browser = (navigator.language || '').toLowerCase();
  state.lang = saved ? (saved === 'zh' ? 'zh' : 'en') : (browser.startsWith('zh') ? 'zh' : 'en');
  state.category = loadPreference(STORAGE_KEYS.category);
}

function bindControls() {
  $('lang-select').addEventListener('change', onLanguageChange);
  $('shopper-select').addEventListener('change', onShopperChange);
  $('category-select').addEventListener('change', onCategoryChange);
  $('search-input').addEventListener('input', searchSoon);
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    runSearch();
  });
  $('status-close').addEventListener('click', clearError);
  $('personalised-switch').addEventListener('change', onPersonalisedChange);
  $('erase-data').addEventListener('click', onEraseData);
  window.addEventListener('hashchange', () => renderRoute({ navigated: true }));
}

async function start() {
  restorePreferences();
  applyStaticText();
  renderCategorySelect();
  renderShopperSelect();
  bindControls();
  await loadConfig();
  await restoreShopper();
  await Promise.all([loadCategories(), loadShoppers()]);
  syncPersonalisation();
  renderRoute({ navigated: true });
  refreshShelf();
}

start();
