// The hospital cashier's counter, one patient at a time: look the patient up, enter the bill,
// see the reduction the API would apply (its quote), settle, print the receipt, reverse with a
// reason. Every figure is the API's; the page only converts the fee between yuan and cents.

import {
  $,
  $$,
  api,
  beforeSessionEnds,
  busy,
  clearNotices,
  markFields,
  report,
  say,
  show,
  start,
  t,
  ApiFailure,
} from "./console.js";
import { centsOf, yuanOf } from "./hospital-money.js";

// What this patient's visit to the counter holds; dropped at "next patient" and at logout.
let visit = { idNumber: null, lookup: null, bill: null, receipt: null };

// ------------------------------------------------------------------ small helpers

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Fill a <dl> with [term, value] pairs (pairs whose value is null are left out). */
function facts(list, pairs) {
  list.replaceChildren();
  for (const [term, value] of pairs) {
    if (value === null || value === undefined) continue;
    list.append(element("dt", term), element("dd", value));
  }
}

const money = (cents) => t("yuan", { amount: yuanOf(cents) });
const ml = (value) => t("ml", { ml: value });
const remainingText = (unlimited, remaining) => (unlimited ? t("unlimited") : ml(remaining ?? 0));

/** A time the API gave in Beijing time ("2026-11-10T10:00:00+08:00") with its offset shown. */
function localTime(iso) {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?([+-]\d\d:\d\d|Z)$/.exec(iso ?? "");
  return match ? `${match[1]} ${match[2]} (UTC${match[3] === "Z" ? "" : match[3]})` : iso;
}


// ------------------------------------------------------------------ look-up

async function lookUp(event) {
  event.preventDefault();
  clearNotices();
  const form = event.target;
  const input = $("#lookup-id");
  const idNumber = input.value.trim().toUpperCase();
  if (!idNumber) {
    input.setAttribute("aria-invalid", "true");
    report(new ApiFailure(422, "validation_failed", t("required")));
    input.focus();
    return;
  }
  const done = busy($("button[type=submit]", form), t("looking_up"));
  try {
    const lookup = await api("/api/v1/hospital/entitlements/lookup", {
      method: "POST",
      body: { id_number: idNumber },
    });
    visit = { idNumber, lookup, bill: null, receipt: null };
    say("");
    markFields(form);
    showPatient(lookup);
  } catch (failure) {
    report(failure, form);
    input.focus();
  } finally {
    done();
  }
}

function poolTitle(pool) {
  if (pool.pool === "donor" && !pool.link_id) return t("pool_own");
  return t("pool_relative", { relation: pool.relation_name ?? pool.relation, donor: pool.donor });
}

function poolBlock(pool) {
  const block = element("article", null, "card");
  block.append(element("h3", poolTitle(pool)));
  const list = element("dl", null, "facts");
  const here = pool.here;
  facts(list, [
    [t("link_status"), pool.link_status ? t(`link_${pool.link_status}`) : null],
    [t("settle_here"), pool.settle_here ? t("yes") : t("no")],
    [t("remaining"), here.refused ? null : remainingText(here.unlimited, here.remaining_ml)],
    [t("why_not"), here.refused_message],
  ]);
  block.append(list);
  if (here.windows.length) {
    block.append(element("h4", t("windows")));
    const windows = element("ul");
    for (const window of here.windows) windows.append(element("li", window.explanation));
    block.append(windows);
  }
  for (const referral of pool.elsewhere ?? []) {
    block.append(element("h4", t("elsewhere", { region: referral.region_name })));
    const grant = referral.would_grant;
    block.append(element("p", t("would_grant", { amount: remainingText(grant.unlimited, grant.remaining_ml) })));
    const stations = element("ul");
    for (const station of referral.stations) {
      stations.append(element("li", [station.name, station.address, station.phone].filter(Boolean).join(" · ")));
    }
    block.append(stations);
  }
  return block;
}

function showPatient(lookup) {
  const settleable = lookup.pools.filter((pool) => pool.settle_here);
  let answer = t(`answer_${lookup.answer}`);
  if (lookup.answer !== "neither" && !settleable.length) answer = `${answer}: ${t("answer_none_here")}`;
  $("#patient-answer").textContent = answer;
  $("#patient-answer").className = `answer ${settleable.length ? "yes" : "no"}`;
  $("#patient-hint").hidden = lookup.answer !== "neither";
  $("#pools").replaceChildren(...lookup.pools.map(poolBlock));
  $("#to-bill").hidden = !settleable.length;
  prepareBill(settleable);
  show("patient-screen");
}

// ------------------------------------------------------------------ the bill

function renumberComponents() {
  $$(".component-row", $("#components")).forEach((row, index) => {
    const n = index + 1;
    const name = $(".component-name", row);
    const volume = $(".component-volume", row);
    name.id = `component-name-${n}`;
    volume.id = `component-volume-${n}`;
    $(".component-name-label", row).htmlFor = name.id;
    $(".component-name-label", row).textContent = t("component", { n });
    $(".component-volume-label", row).htmlFor = volume.id;
    $(".component-volume-label", row).textContent = t("component_volume", { n });
    const remove = $(".component-remove", row);
    remove.textContent = t("remove_component", { n });
    remove.hidden = index === 0;
  });
}

function addComponent() {
  const row = $("#component-row").content.firstElementChild.cloneNode(true);
  $(".component-remove", row).addEventListener("click", () => {
    row.remove();
    renumberComponents();
    $(".component-name", $("#components")).focus();
  });
  $("#components").append(row);
  renumberComponents();
  return row;
}

/** A fresh bill form for this patient; "draw on" offered when a relative's pool may be used. */
function prepareBill(settleable) {
  const form = $("#bill-form");
  form.reset();
  markFields(form);
  for (const row of $$(".component-row", form)) row.remove();
  addComponent();
  const select = $("#bill-link");
  select.replaceChildren(new Option(t("draw_automatic"), ""));
  for (const pool of settleable.filter((each) => each.link_id)) {
    select.append(new Option(`${poolTitle(pool)} · ${remainingText(pool.here.unlimited, pool.here.remaining_ml)}`, pool.link_id));
  }
  $("#draw-on-field").hidden = select.options.length < 2;
}

/** The bill as the API takes it, or null with the first wrong field marked and focused. */
function billFromForm(form) {
  markFields(form);
  const wrong = [];
  const value = (input) => input.value.trim();
  const need = (input, ok = Boolean(value(input)), message = t("required")) => {
    if (!ok) {
      input.setAttribute("aria-invalid", "true");
      wrong.push([input, message]);
    }
  };
  const number = form.elements.bill_number;
  const transfused = form.elements.transfused_on;
  const fee = form.elements.fee_cents;
  need(number);
  need(transfused);
  const components = $$(".component-row", form).map((row) => {
    const name = $(".component-name", row);
    const volume = $(".component-volume", row);
    need(name);
    const ml = /^\d{1,6}$/.test(value(volume)) ? Number(value(volume)) : 0;
    need(volume, ml >= 1, t("volume_invalid"));
    return { component: value(name), volume_ml: ml };
  });
  const cents = centsOf(value(fee));
  need(fee, cents !== null, value(fee) ? t("fee_invalid") : t("required"));
  if (wrong.length) {
    const [input, message] = wrong[0];
    report(new ApiFailure(422, "validation_failed", message));
    input.focus();
    return null;
  }
  const link = form.elements.link_id.value;
  return {
    bill_number: value(number),
    id_number: visit.idNumber,
    transfused_on: transfused.value,
    discharged_on: form.elements.discharged_on.value || null,
    components,
    fee_cents: cents,
    link_id: link ? Number(link) : null,
  };
}

async function checkReduction(event) {
  event.preventDefault();
  clearNotices();
  const form = event.target;
  const bill = billFromForm(form);
  if (!bill) return;
  const done = busy($("button[type=submit]", form), t("checking"));
  try {
    const quote = await api("/api/v1/hospital/settlements/quote", { method: "POST", body: bill });
    visit.bill = bill;
    say("");
    showQuote(quote);
  } catch (failure) {
    report(failure, form);
  } finally {
    done();
  }
}

function showQuote(quote) {
  $("#quote-hint").textContent = quote.already_settled ? t("quote_already_settled") : t("quote_hint");
  const drawOn = quote.donor ? t("relation_line", { relation: quote.relation_name, donor: quote.donor }) : null;
  facts($("#quote-facts"), [
    [t("bill_number"), quote.bill_number],
    [t("draw_on"), drawOn],
    [t("volume"), ml(quote.volume_ml)],
    [t("covered"), ml(quote.covered_ml)],
    [t("fee"), money(quote.fee_cents)],
    [t("reduction"), money(quote.reduction_cents)],
    [t("payable"), money(quote.payable_cents)],
    [t("remaining_after"), remainingText(quote.unlimited, quote.remaining_ml)],
    [t("rules_of"), quote.rules_name],
    [t("windows"), quote.windows.map((window) => window.explanation).join(" ")],
  ]);
  show("quote-screen");
}

// ------------------------------------------------------------------ settling and the receipt

/**
 * Settle the bill the quote was for. The route is idempotent on the bill number: the same bill
 * sent again (after a lost answer) gets the first receipt, so a retry never settles twice.
 */
async function settle() {
  clearNotices();
  const done = busy($("#settle"), t("settling"));
  try {
    const receipt = await api("/api/v1/hospital/settlements", { method: "POST", body: visit.bill });
    showReceipt(receipt);
    say(t("settled"));
  } catch (failure) {
    report(failure);
  } finally {
    done();
  }
}

function showReceipt(receipt) {
  visit.receipt = receipt;
  const patient = receipt.patient;
  const reversed = receipt.status === "reversed";
  facts($("#receipt-facts"), [
    [t("hospital"), receipt.hospital],
    [t("patient"), t("patient_line", { name: patient.name, id_number: patient.id_number })],
    [t("draw_on"), patient.donor ? t("relation_line", { relation: patient.relation_name, donor: patient.donor }) : null],
    [t("bill_number"), receipt.bill_number],
    [t("transfused_on"), receipt.transfused_on],
    [t("discharged_on"), receipt.discharged_on],
    [t("status"), reversed ? t("status_reversed") : t("status_settled")],
    [t("reversed_at"), reversed ? localTime(receipt.reversed_at) : null],
    [t("reverse_reason"), reversed ? receipt.reverse_reason : null],
    [t("volume"), ml(receipt.volume_ml)],
    [t("covered"), ml(receipt.covered_ml)],
    [t("fee"), money(receipt.fee_cents)],
    [t("reduction"), money(receipt.reduction_cents)],
    [t("payable"), money(receipt.payable_cents)],
    [t("remaining_after"), reversed ? null : remainingText(receipt.unlimited, receipt.remaining_ml)],
    [t("rules_of"), receipt.rules_name],
    [t("settled_on"), t("beijing_date", { date: receipt.settled_on })],
  ]);
  $("#receipt-screen").classList.toggle("reversed", reversed);
  const rows = receipt.components.map((item) => {
    const row = element("tr");
    row.append(element("td", item.component), element("td", ml(item.volume_ml)));
    return row;
  });
  $("#receipt-components tbody").replaceChildren(...rows);
  $("#receipt-windows").replaceChildren(
    ...receipt.windows.map((window) => element("li", window.explanation)),
  );
  $("#reverse-this").hidden = reversed;
  show("receipt-screen");
}

// ------------------------------------------------------------------ reversing

function toReverse(billNumber) {
  clearNotices();
  const form = $("#reverse-form");
  form.reset();
  markFields(form);
  form.elements.bill_number.value = billNumber ?? "";
  show("reverse-screen");
}

async function reverse(event) {
  event.preventDefault();
  clearNotices();
  const form = event.target;
  const billNumber = form.elements.bill_number.value.trim();
  const reason = form.elements.reason.value.trim();
  markFields(form);
  const missing = !billNumber ? form.elements.bill_number : reason.length < 2 ? form.elements.reason : null;
  if (missing) {
    missing.setAttribute("aria-invalid", "true");
    report(new ApiFailure(422, "validation_failed", t("required")));
    missing.focus();
    return;
  }
  const done = busy($("button[type=submit]", form), t("reversing"));
  try {
    const receipt = await api(`/api/v1/hospital/settlements/${encodeURIComponent(billNumber)}/reverse`, {
      method: "POST",
      body: { reason },
    });
    showReceipt(receipt);
    say(t("reversed"));
  } catch (failure) {
    report(failure, form);
  } finally {
    done();
  }
}

// ------------------------------------------------------------------ the month's bills

const MONTH_PAGE = 50;
let month = { text: null, page: 0, pages: 0, shown: 0, csvUrl: null };

function dropCsv() {
  if (month.csvUrl) URL.revokeObjectURL(month.csvUrl);
  month.csvUrl = null;
}

function toMonth() {
  clearNotices();
  const input = $("#month-month");
  // The month of the last receipt (a Beijing date the API gave), never the tablet's clock.
  if (!input.value && visit.receipt) input.value = visit.receipt.settled_on.slice(0, 7);
  show("month-screen");
}

async function showMonth(event) {
  event.preventDefault();
  clearNotices();
  const form = event.target;
  const input = form.elements.month;
  markFields(form);
  if (!/^\d{4}-\d{2}$/.test(input.value)) {
    input.setAttribute("aria-invalid", "true");
    report(new ApiFailure(422, "validation_failed", t("required")));
    input.focus();
    return;
  }
  const done = busy($("button[type=submit]", form), t("working"));
  try {
    dropCsv();
    month = { text: input.value, page: 0, pages: 0, shown: 0, csvUrl: null };
    $("#month-bills tbody").replaceChildren();
    await loadMonthPage();
    say("");
  } catch (failure) {
    $("#month-result").hidden = true;
    report(failure, form);
  } finally {
    done();
  }
}

async function loadMonthPage() {
  const next = month.page + 1;
  const found = await api(`/api/v1/hospital/months/${month.text}?page=${next}&per_page=${MONTH_PAGE}`);
  month.page = next;
  month.pages = found.page.pages;
  month.shown += found.items.length;
  const totals = found.totals;
  facts($("#month-totals"), [
    [t("month"), found.month],
    [t("hospital"), found.hospital],
    [t("bills_settled"), String(totals.bills)],
    [t("covered"), ml(totals.covered_ml)],
    [t("fee"), money(totals.fee_cents)],
    [t("reduction"), money(totals.reduction_cents)],
    [t("confirmed_at"), found.confirmation ? localTime(found.confirmation.confirmed_at) : t("not_confirmed")],
    [t("bills_shown"), t("shown_of", { shown: month.shown, total: found.page.total })],
  ]);
  const rows = found.items.map((item) => {
    const row = element("tr");
    row.append(
      element("td", item.bill_number),
      element("td", item.patient),
      element("td", item.transfused_on),
      element("td", ml(item.covered_ml)),
      element("td", money(item.fee_cents)),
      element("td", money(item.reduction_cents)),
      element("td", item.status === "reversed" ? t("status_reversed") : t("status_settled")),
    );
    return row;
  });
  $("#month-bills tbody").append(...rows);
  $("#month-more").hidden = month.page >= month.pages;
  $("#month-result").hidden = false;
}

async function moreBills() {
  clearNotices();
  const done = busy($("#month-more"), t("working"));
  try {
    await loadMonthPage();
    say("");
  } catch (failure) {
    report(failure);
  } finally {
    done();
  }
}

/** The month as CSV: fetched with the device's token, saved through a short-lived object URL. */
async function downloadCsv() {
  clearNotices();
  const done = busy($("#month-csv"), t("working"));
  try {
    const file = await api(`/api/v1/hospital/months/${month.text}.csv`, { as: "blob" });
    dropCsv();
    month.csvUrl = URL.createObjectURL(file);
    const link = element("a");
    link.href = month.csvUrl;
    link.download = `blood-fee-${month.text}.csv`;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    say(t("downloaded"));
  } catch (failure) {
    report(failure);
  } finally {
    done();
  }
}

// ------------------------------------------------------------------ the counter

function nextPatient() {
  clearNotices();
  visit = { idNumber: null, lookup: null, bill: null, receipt: null };
  for (const form of $$("form", $("main"))) {
    if (form.id !== "login-form") form.reset();
  }
  dropCsv();
  month = { text: null, page: 0, pages: 0, shown: 0, csvUrl: null };
  $("#month-result").hidden = true;
  const filled = ["#pools", "#quote-facts", "#receipt-facts", "#receipt-windows", "#receipt-components tbody"];
  for (const id of [...filled, "#month-totals", "#month-bills tbody"]) {
    $(id).replaceChildren();
  }
  show("lookup-screen");
}

function ready() {
  $("#lookup-form").addEventListener("submit", lookUp);
  $("#to-bill").addEventListener("click", () => {
    clearNotices();
    show("bill-screen");
  });
  $("#add-component").addEventListener("click", () => $(".component-name", addComponent()).focus());
  $("#bill-form").addEventListener("submit", checkReduction);
  $("#change-bill").addEventListener("click", () => {
    clearNotices();
    show("bill-screen");
  });
  $("#settle").addEventListener("click", settle);
  $("#print").addEventListener("click", () => window.print());
  $("#reverse-this").addEventListener("click", () => toReverse(visit.receipt?.bill_number));
  $("#to-reverse").addEventListener("click", () => toReverse(""));
  $("#reverse-form").addEventListener("submit", reverse);
  $("#to-month").addEventListener("click", toMonth);
  $("#month-form").addEventListener("submit", showMonth);
  $("#month-more").addEventListener("click", moreBills);
  $("#month-csv").addEventListener("click", downloadCsv);
  for (const button of $$("[data-action=next-patient]")) button.addEventListener("click", nextPatient);
  beforeSessionEnds(nextPatient);
  show("lookup-screen");
}

start(ready);
