// The donation house's screen: today at the site, check-in (camera, hand scanner, ID number),
// the visit with its face check, the donation with the bag's DIN, the certificate's QR for the
// donor, a deferral, face identification, and an administrator's void or correction.
// Every call goes to the JSON API the apps use; every text comes from the page's texts.

import {
  $,
  api,
  beforeSessionEnds,
  busy,
  captureBurst,
  clearNotices,
  closeCamera,
  codeField,
  currentRole,
  markFields,
  newEntryKey,
  openCamera,
  report,
  say,
  scanVideo,
  show,
  start,
  t,
  warn,
} from "./console.js";

const PER_PAGE = 20;
const BURST = { count: 15, every: 100 }; // 1.5 s at 10 frames a second: one blink at least

const state = {
  sites: [],
  siteId: null,
  visit: null, // the visit at the desk (GET /staff/visits/{id} shape)
  donationKey: null, // the Idempotency-Key of the donation being entered, until it succeeds
  deferral: null, // a deferral recorded whose visit is not yet closed
  donation: null,
  qrUrl: null, // object URL of the certificate's QR image
  identified: false,
};

// ------------------------------------------------------------------ small helpers

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

/** "09:30 +08:00" from the API's local time (the zone it carries is kept). */
function timeOf(iso) {
  const found = /T(\d\d:\d\d)[^+Z-]*([+-]\d\d:\d\d|Z)?$/.exec(iso || "");
  return found ? `${found[1]} ${found[2] || ""}`.trim() : "";
}

/** "2026-12-01 09:30 +08:00" */
function whenOf(iso) {
  return iso ? `${iso.slice(0, 10)} ${timeOf(iso)}` : "";
}

function statusText(status) {
  const key = `status_${status}`;
  const text = t(key);
  return text === key ? status : text;
}

function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

// ------------------------------------------------------------------ the camera

let running = null; // { video, box, controller }

function stopCamera() {
  if (!running) return;
  running.controller.abort();
  closeCamera(running.video);
  running.box.hidden = true;
  for (const button of running.stops) button.hidden = true;
  running = null;
}

async function startCamera(boxId, videoId, stops = []) {
  stopCamera();
  const box = $(`#${boxId}`);
  const video = $(`#${videoId}`);
  box.hidden = false;
  try {
    await openCamera(video);
  } catch (failure) {
    box.hidden = true;
    throw failure;
  }
  running = { video, box, controller: new AbortController(), stops };
  for (const button of stops) button.hidden = false;
  return running;
}

function revokeQr() {
  if (state.qrUrl) URL.revokeObjectURL(state.qrUrl);
  state.qrUrl = null;
  $("#certificate-qr").removeAttribute("src");
}

beforeSessionEnds(() => {
  stopCamera();
  revokeQr();
});

function goTo(screen) {
  stopCamera();
  show(screen);
}

// ------------------------------------------------------------------ today at the site

async function loadProfile() {
  const me = await api("/api/v1/staff/me");
  state.sites = me.sites;
  $("#who").textContent = t("signed_in_as", { name: me.display_name });
  const picker = $("#site-picker");
  picker.replaceChildren(...me.sites.map((site) => element("option", site.name, { value: site.id })));
  $("#site-choice").hidden = me.sites.length < 2;
  state.siteId = me.sites[0]?.id ?? null;
}

function siteName() {
  return state.sites.find((site) => site.id === state.siteId)?.name ?? "";
}

const lists = {
  visits: { path: "/api/v1/staff/visits", page: 0, pages: 0, counts: null },
  bookings: { path: "/api/v1/staff/appointments", page: 0, pages: 0, counts: null },
};

/** A donor in a list: the masked name, the masked ID number under it. */
function donorCell(donor) {
  const cell = element("td", `${donor.name} `);
  cell.append(element("span", donor.id_number, { class: "id-number" }));
  return cell;
}

function visitRow(visit) {
  const row = element("tr");
  row.append(element("td", timeOf(visit.opened_at)));
  row.append(donorCell(visit.donor));
  row.append(element("td", statusText(visit.status)));
  const cell = element("td");
  const open = element("button", t("open_visit"), { type: "button", class: "button" });
  open.setAttribute("aria-label", `${t("open_visit")} ${visit.donor.name}`);
  open.addEventListener("click", () => openVisit(visit.id));
  cell.append(open);
  row.append(cell);
  return row;
}

function bookingRow(booking) {
  const row = element("tr");
  row.append(element("td", `${timeOf(booking.starts_at)}–${timeOf(booking.ends_at).slice(0, 5)}`));
  row.append(donorCell(booking.donor));
  row.append(element("td", booking.kind_name));
  row.append(element("td", statusText(booking.status)));
  return row;
}

async function loadList(name, more = false) {
  const list = lists[name];
  const page = more ? list.page + 1 : 1;
  const query = new URLSearchParams({ site_id: state.siteId, page, per_page: PER_PAGE });
  const answer = await api(`${list.path}?${query}`);
  list.page = answer.page.page;
  list.pages = answer.page.pages;
  list.counts = answer.counts;
  const body = $(`#${name}`);
  const rows = answer.items.map(name === "visits" ? visitRow : bookingRow);
  if (more) body.append(...rows);
  else body.replaceChildren(...rows);
  if (!body.children.length) {
    const empty = element("td", t("none_yet"), { colspan: "4" });
    body.replaceChildren(element("tr"));
    body.firstChild.append(empty);
  }
  $(`#more-${name}`).hidden = list.page >= list.pages;
}

function showCounts() {
  const visits = lists.visits.counts;
  const bookings = lists.bookings.counts;
  $("#counts").textContent = t("counts_line", {
    bookings: bookings?.total ?? 0,
    visits: visits?.total ?? 0,
    donated: visits?.by_status?.donated ?? 0,
  });
}

async function loadToday() {
  $("#site-name").textContent = siteName();
  if (state.siteId === null) {
    say(t("no_sites"));
    return;
  }
  try {
    await Promise.all([loadList("visits"), loadList("bookings")]);
    showCounts();
  } catch (failure) {
    report(failure);
  }
}

async function goHome() {
  clearNotices();
  state.visit = null;
  state.identified = false;
  revokeQr();
  goTo("home-screen");
  await loadToday();
}

// ------------------------------------------------------------------ check-in

async function checkIn(body) {
  clearNotices();
  say(t("checking_in"));
  try {
    const visit = await api("/api/v1/staff/checkins", {
      method: "POST",
      body: { site_id: state.siteId, ...body },
    });
    say("");
    showVisit(visit);
    return true;
  } catch (failure) {
    report(failure);
    return false;
  }
}

async function scanCheckin() {
  clearNotices();
  let camera;
  try {
    camera = await startCamera("checkin-camera", "checkin-video", [$("#stop-checkin-camera")]);
    const code = await scanVideo(camera.video, ["QRCode"], camera.controller.signal);
    if (!code) return;
    stopCamera();
    await checkIn({ code });
  } catch (failure) {
    stopCamera();
    report(failure);
  }
}

async function checkInByIdNumber(form, input) {
  const idNumber = input.value.trim().toUpperCase();
  if (!idNumber) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  const button = form.querySelector("button[type=submit]");
  const done = busy(button);
  if (await checkIn({ id_number: idNumber })) input.value = "";
  else input.setAttribute("aria-invalid", "true");
  done();
}

// ------------------------------------------------------------------ the visit

function showVisit(visit) {
  state.visit = visit;
  state.deferral = null;
  const donor = visit.donor;
  $("#visit-name").textContent = `${donor.name} (${donor.birth_year})`;
  $("#visit-id-number").textContent = donor.id_number;
  const booking = visit.booking;
  $("#visit-booking").textContent = booking
    ? t("booking_line", {
        kind: booking.kind_name,
        start: timeOf(booking.starts_at),
        end: timeOf(booking.ends_at),
      })
    : t("walk_in");
  const form = visit.questionnaire;
  $("#visit-form").textContent =
    form?.status === "valid" ? t("health_form_signed", { when: whenOf(form.signed_at) }) : t("health_form_missing");
  $("#visit-eligibility").replaceChildren(
    ...visit.eligibility.map((kind) => {
      if (kind.allowed) return element("li", t("eligible", { kind: kind.kind_name }));
      const text = kind.earliest_date
        ? t("not_eligible", { kind: kind.kind_name, date: kind.earliest_date })
        : t("not_eligible_no_date", { kind: kind.kind_name });
      const reasons = kind.reasons.map((reason) => reason.message).join("; ");
      return element("li", reasons ? `${text} (${reasons})` : text);
    }),
  );
  const open = visit.status === "open";
  $("#visit-actions").hidden = !open;
  $("#visit-ended").hidden = open;
  const result = $("#face-result");
  result.hidden = !visit.face_verified_at;
  result.className = "result ok";
  result.textContent = visit.face_verified_at
    ? t("face_confirmed_at", { when: whenOf(visit.face_verified_at) })
    : "";
  goTo("visit-screen");
}

async function openVisit(visitId) {
  clearNotices();
  try {
    showVisit(await api(`/api/v1/staff/visits/${visitId}`));
  } catch (failure) {
    report(failure);
  }
}

/** A burst with the blink prompt shown over the camera. */
async function blinkBurst(boxId, videoId, promptId) {
  const camera = await startCamera(boxId, videoId);
  const prompt = $(`#${promptId}`);
  prompt.hidden = false;
  say(t("blink_prompt"));
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // the camera settles
    return await captureBurst(camera.video, BURST);
  } finally {
    prompt.hidden = true;
  }
}

async function checkFace(button) {
  clearNotices();
  const result = $("#face-result");
  result.hidden = true;
  const done = busy(button);
  try {
    const frames = await blinkBurst("face-camera", "face-video", "face-prompt");
    say(t("checking_face"));
    const check = await api(`/api/v1/staff/visits/${state.visit.id}/face-check`, {
      method: "POST",
      body: { frames },
    });
    stopCamera();
    say("");
    result.hidden = false;
    if (check.verified) {
      result.className = "result ok";
      result.textContent = t("face_verified");
      state.visit.face_verified_at = check.checked_at;
    } else if (!check.match) {
      result.className = "result no";
      result.textContent = t("face_no_match");
    } else {
      result.className = "result no";
      result.textContent = `${check.liveness.message} ${t("face_try_again")}`;
    }
  } catch (failure) {
    stopCamera();
    report(failure);
  } finally {
    done();
  }
}

// ------------------------------------------------------------------ the donation

function showDonationForm() {
  clearNotices();
  const visit = state.visit;
  const form = $("#donation-form");
  const kinds = $("#donation-kind");
  const chosen = kinds.value;
  const booked = visit.booking?.kind;
  kinds.replaceChildren(
    ...visit.eligibility.map((kind) => element("option", kind.kind_name, { value: kind.kind })),
  );
  kinds.value = chosen && [...kinds.options].some((o) => o.value === chosen) ? chosen : booked || kinds.options[0]?.value || "";
  $("#donation-who").textContent = `${visit.donor.name} ${visit.donor.id_number}`;
  state.donationKey ??= newEntryKey();
  markFields(form, null);
  goTo("donation-screen");
}

async function scanDin() {
  clearNotices();
  try {
    const camera = await startCamera("din-camera", "din-video", [$("#stop-din-camera")]);
    const text = await scanVideo(camera.video, ["Code128"], camera.controller.signal);
    stopCamera();
    if (!text) return;
    $("#donation-din").value = text;
    say(t("din_read", { din: text }));
  } catch (failure) {
    stopCamera();
    report(failure);
  }
}

function donationBody(form) {
  const body = {
    site_id: state.siteId,
    visit_id: state.visit.id,
    kind: form.kind.value,
  };
  const volume = numberOrNull(form.volume_ml);
  const units = numberOrNull(form.units);
  if (volume !== null) body.volume_ml = volume;
  if (units !== null) body.units = units;
  const din = form.din.value.trim();
  if (din) body.din = din;
  if (form.reaction.value) {
    body.reaction = { severity: form.reaction.value };
    if (form.note.value.trim()) body.reaction.note = form.note.value.trim();
  }
  return body;
}

async function recordDonation(form) {
  clearNotices();
  stopCamera();
  const button = form.querySelector("button[type=submit]");
  const done = busy(button, t("recording"));
  try {
    // The same key until it succeeds: pressing again after a lost answer cannot record twice.
    const donation = await api("/api/v1/staff/donations", {
      method: "POST",
      body: donationBody(form),
      headers: { "Idempotency-Key": state.donationKey },
    });
    state.donationKey = null;
    form.reset();
    say("");
    await showDonation(donation);
  } catch (failure) {
    report(failure, form);
  } finally {
    done();
  }
}

async function showDonation(donation) {
  state.donation = donation;
  const certificate = donation.certificate;
  $("#certificate-number").textContent = certificate?.number ?? "";
  $("#certificate-din").textContent = donation.din;
  $("#certificate-amount").textContent = donation.units
    ? t("amount_units", { units: donation.units, ml: donation.volume_ml ?? "" })
    : t("amount_ml", { ml: donation.volume_ml ?? "" });
  $("#certificate-status").textContent = t(
    donation.status === "voided" ? "donation_voided" : "donation_valid",
  );
  const image = $("#certificate-qr");
  revokeQr();
  image.alt = t("certificate_qr", { number: certificate?.number ?? "" });
  $("#admin-tools").hidden = currentRole() !== "admin" || donation.status === "voided";
  goTo("certificate-screen");
  if (certificate && donation.status !== "voided") {
    image.hidden = false;
    try {
      const blob = await api(`/api/v1/staff/donations/${donation.id}/certificate-qr.png`, {
        as: "blob",
      });
      state.qrUrl = URL.createObjectURL(blob);
      image.src = state.qrUrl;
    } catch (failure) {
      report(failure);
    }
  } else {
    image.hidden = true;
  }
}

async function voidDonation(form) {
  clearNotices();
  const reason = form.reason.value.trim();
  const button = form.querySelector("button[type=submit]");
  const done = busy(button);
  try {
    const donation = await api(`/api/v1/admin/donations/${state.donation.id}/void`, {
      method: "POST",
      body: { reason },
    });
    form.reset();
    await showDonation(donation);
    say(t("voided"));
  } catch (failure) {
    report(failure, form);
  } finally {
    done();
  }
}

async function correctDonation(form) {
  clearNotices();
  const body = { reason: form.reason.value.trim() };
  const volume = numberOrNull(form.volume_ml);
  const units = numberOrNull(form.units);
  if (volume !== null) body.volume_ml = volume;
  if (units !== null) body.units = units;
  const button = form.querySelector("button[type=submit]");
  const done = busy(button);
  try {
    const donation = await api(`/api/v1/admin/donations/${state.donation.id}/correction`, {
      method: "POST",
      body,
    });
    form.reset();
    await showDonation(donation);
    say(t("corrected"));
  } catch (failure) {
    report(failure, form);
  } finally {
    done();
  }
}

// ------------------------------------------------------------------ deferral

async function showDeferralForm() {
  clearNotices();
  $("#deferral-who").textContent = `${state.visit.donor.name} ${state.visit.donor.id_number}`;
  const select = $("#deferral-reason");
  if (!select.options.length) {
    try {
      const reasons = await api("/api/v1/staff/deferral-reasons?per_page=100");
      select.replaceChildren(
        ...reasons.items.map((reason) => element("option", reason.name_zh, { value: reason.code })),
      );
      // The service's today (never the tablet's clock): the usual day a period counts from.
      $("#deferral-anchor").value = reasons.on;
    } catch (failure) {
      report(failure);
      return;
    }
  }
  goTo("deferral-screen");
}

async function recordDeferral(form) {
  clearNotices();
  const button = form.querySelector("button[type=submit]");
  const done = busy(button);
  try {
    if (!state.deferral) {
      const body = {
        site_id: state.siteId,
        donor_id: state.visit.donor.id,
        reason_code: form.reason_code.value,
      };
      if (form.anchor_date.value) body.anchor_date = form.anchor_date.value;
      if (form.until.value) body.until = form.until.value;
      state.deferral = await api("/api/v1/staff/deferrals", { method: "POST", body });
    }
    // The deferral is kept once recorded: pressing again after a failure only ends the visit.
    const deferral = state.deferral;
    const visit = await api(`/api/v1/staff/visits/${state.visit.id}/close`, {
      method: "POST",
      body: { outcome: "deferred_at_screening" },
    });
    form.until.value = "";
    showVisit(visit);
    say(
      deferral.until
        ? t("deferred_until", { date: deferral.until })
        : t("deferred_permanently"),
    );
  } catch (failure) {
    report(failure, form);
  } finally {
    done();
  }
}

// ------------------------------------------------------------------ face identification

function showIdentify() {
  clearNotices();
  $("#identified").hidden = true;
  goTo("identify-screen");
}

async function identify(button) {
  clearNotices();
  $("#identified").hidden = true;
  const done = busy(button);
  try {
    const frames = await blinkBurst("identify-camera", "identify-video", "identify-prompt");
    say(t("checking_face"));
    const found = await api("/api/v1/staff/face-identify", {
      method: "POST",
      body: { site_id: state.siteId, frames },
    });
    stopCamera();
    say("");
    if (found.candidate) {
      $("#identified-who").textContent = t("identified", {
        name: found.candidate.name,
        year: found.candidate.birth_year,
      });
      $("#identified").hidden = false;
      $("#identified-id").focus();
    } else {
      const advice = found.reason === "liveness_failed" ? t("face_try_again") : t("advice_donor_not_found");
      warn(found.message, advice);
    }
  } catch (failure) {
    stopCamera();
    report(failure);
  } finally {
    done();
  }
}

// ------------------------------------------------------------------ wiring

function wire() {
  $("#site-picker").addEventListener("change", (event) => {
    state.siteId = Number(event.target.value);
    loadToday();
  });
  $("#scan-checkin").addEventListener("click", scanCheckin);
  $("#stop-checkin-camera").addEventListener("click", stopCamera);
  codeField($("#checkin-code"), (code) => checkIn({ code }));
  $("#walk-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    checkInByIdNumber(event.target, $("#walk-in-id"));
  });
  $("#go-identify").addEventListener("click", showIdentify);
  $("#more-visits").addEventListener("click", () => loadList("visits", true).catch(report));
  $("#more-bookings").addEventListener("click", () => loadList("bookings", true).catch(report));
  for (const button of document.querySelectorAll("[data-home]")) button.addEventListener("click", goHome);
  for (const button of document.querySelectorAll("[data-back-to-visit]")) {
    button.addEventListener("click", () => {
      clearNotices();
      goTo("visit-screen");
    });
  }
  $("#check-face").addEventListener("click", (event) => checkFace(event.currentTarget));
  $("#go-donation").addEventListener("click", showDonationForm);
  $("#go-deferral").addEventListener("click", showDeferralForm);
  $("#scan-din").addEventListener("click", scanDin);
  $("#stop-din-camera").addEventListener("click", stopCamera);
  // A hand scanner ends the DIN with Enter: keep it in the field instead of sending the form.
  $("#donation-din").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (event.target.value.trim()) say(t("din_read", { din: event.target.value.trim() }));
    $("#donation-reaction").focus();
  });
  $("#donation-form").addEventListener("submit", (event) => {
    event.preventDefault();
    recordDonation(event.target);
  });
  $("#void-form").addEventListener("submit", (event) => {
    event.preventDefault();
    voidDonation(event.target);
  });
  $("#correction-form").addEventListener("submit", (event) => {
    event.preventDefault();
    correctDonation(event.target);
  });
  $("#deferral-form").addEventListener("submit", (event) => {
    event.preventDefault();
    recordDeferral(event.target);
  });
  $("#identify").addEventListener("click", (event) => identify(event.currentTarget));
  $("#identified-form").addEventListener("submit", (event) => {
    event.preventDefault();
    checkInByIdNumber(event.target, $("#identified-id"));
  });
}

wire();
start(async () => {
  try {
    await loadProfile();
  } catch (failure) {
    report(failure);
    return;
  }
  await goHome();
});
