// A business's canned replies (saved answers its agents insert with "/" in the reply box) and its
// wrap-up codes (how agents sum up finished work when they close it). Canned replies are kept one by
// one; the wrap-up codes are one list, edited as a draft and saved whole.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { namingFields, request } from "../../api.js";
import { useT } from "../../i18n.js";
import { ConfirmButton } from "./ConfirmButton.jsx";
import "./Replies.css";

// The API's limits (gateway/api/routes/canned_replies.py, gateway/core/wrapup.py).
const LIMITS = { shortcut: 40, title: 100, body: 5000, replies: 1000, code: 40, label: 100, codes: 100 };
// Shortcuts and codes alike, as an HTML pattern (compiled with the v flag: "-" is escaped).
const NAME_PATTERN = "[a-z0-9][a-z0-9_\\-]{0,39}";
// More replies than this and the list can be searched.
const FILTER_FROM = 5;

const enc = encodeURIComponent;
const repliesApi = {
  list: (tenantId) => request("GET", `/tenants/${enc(tenantId)}/canned-replies`),
  add: (tenantId, body) => request("POST", `/tenants/${enc(tenantId)}/canned-replies`, { body }),
  change: (tenantId, replyId, body) => request("PATCH", `/tenants/${enc(tenantId)}/canned-replies/${enc(replyId)}`, { body }),
  remove: (tenantId, replyId) => request("DELETE", `/tenants/${enc(tenantId)}/canned-replies/${enc(replyId)}`),
  wrapupCodes: (tenantId) => request("GET", `/tenants/${enc(tenantId)}/wrapup-codes`),
  setWrapupCodes: (tenantId, body) => request("PUT", `/tenants/${enc(tenantId)}/wrapup-codes`, { body }),
};

/** A code made from a label: "Needs follow-up" → "needs_follow_up" ("" when nothing is left). */
function codeFrom(label) {
  const plain = label.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  return plain.replace(/[^a-z0-9]+/g, "_").replace(/^_+/, "").slice(0, LIMITS.code).replace(/_+$/, "");
}

export function Replies({ tenant, run }) {
  return (
    <>
      <CannedReplies tenant={tenant} run={run} />
      <WrapupCodes tenant={tenant} run={run} />
    </>
  );
}

const NO_REPLY = { shortcut: "", title: "", body: "" };

function CannedReplies({ tenant, run }) {
  const t = useT();
  const [replies, setReplies] = useState(null);
  const [form, setForm] = useState(NO_REPLY);
  const [editing, setEditing] = useState(null); // the reply the form changes; null: the form adds one
  const [query, setQuery] = useState("");
  const [done, setDone] = useState("");
  const firstField = useRef(null);

  const load = useCallback(() => run(() => repliesApi.list(tenant.id), (got) => setReplies(got.items)), [tenant.id, run]);
  useEffect(() => {
    load();
  }, [load]);
  useEffect(() => {
    if (editing) firstField.current?.focus();
  }, [editing]);

  const fieldName = (field) =>
    ({ shortcut: t("admin.replies.shortcut"), title: t("admin.replies.replyTitle"), body: t("admin.replies.body") })[field] ?? field;
  const set = (name) => (e) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [name]: name === "shortcut" ? value.toLowerCase() : value }));
    setDone("");
  };
  function edit(reply) {
    setEditing(reply);
    setForm({ shortcut: reply.shortcut, title: reply.title, body: reply.body });
    setDone("");
  }
  function stopEditing() {
    setEditing(null);
    setForm(NO_REPLY);
  }

  async function submit(event) {
    event.preventDefault();
    const entered = { shortcut: form.shortcut.trim(), title: form.title.trim(), body: form.body.trim() };
    if (!editing) {
      if (await run(namingFields(() => repliesApi.add(tenant.id, entered), fieldName), load)) {
        setForm(NO_REPLY);
        setDone(t("admin.replies.added", { shortcut: entered.shortcut }));
      }
      return;
    }
    const changes = Object.fromEntries(Object.entries(entered).filter(([name, value]) => value !== editing[name]));
    if (!Object.keys(changes).length || (await run(namingFields(() => repliesApi.change(tenant.id, editing.id, changes), fieldName), load))) {
      stopEditing();
      setDone(t("admin.replies.saved", { shortcut: entered.shortcut }));
    }
  }

  async function remove(reply) {
    if (await run(() => repliesApi.remove(tenant.id, reply.id), load)) {
      if (editing?.id === reply.id) stopEditing();
      setDone(t("admin.replies.deleted", { shortcut: reply.shortcut }));
    }
  }

  const shown = useMemo(() => {
    const words = query.trim().toLowerCase();
    return (replies ?? []).filter((r) => !words || [r.shortcut, r.title, r.body].some((s) => s.toLowerCase().includes(words)));
  }, [replies, query]);
  const full = !editing && (replies?.length ?? 0) >= LIMITS.replies;
  const when = (iso) => new Date(iso).toLocaleString(t.lang, { dateStyle: "medium", timeStyle: "short" });

  return (
    <section class="admin-section" aria-labelledby="admin-replies">
      <h3 id="admin-replies">{t("admin.replies.title")}</h3>
      <p class="reports-note replies-explain">{t("admin.replies.explain")}</p>
      <form
        class="reports-form replies-form"
        onSubmit={submit}
        aria-label={editing ? t("admin.replies.editForm", { shortcut: editing.shortcut }) : t("admin.replies.addForm")}
      >
        <label>
          {t("admin.replies.shortcut")}
          <span class="replies-slash">
            <span aria-hidden="true">/</span>
            <input
              ref={firstField}
              value={form.shortcut}
              onInput={set("shortcut")}
              required
              maxLength={LIMITS.shortcut}
              pattern={NAME_PATTERN}
              autocomplete="off"
              spellcheck={false}
              aria-describedby="replies-shortcut-hint"
            />
          </span>
        </label>
        <label class="replies-title">
          {t("admin.replies.replyTitle")}
          <input value={form.title} onInput={set("title")} required maxLength={LIMITS.title} />
        </label>
        <label class="replies-text">
          {t("admin.replies.body")}
          <textarea rows={4} value={form.body} onInput={set("body")} required maxLength={LIMITS.body} aria-describedby="replies-body-length" />
        </label>
        <p class="replies-hints">
          <span id="replies-shortcut-hint">{t("admin.replies.shortcutHint")}</span>
          <span id="replies-body-length">{t("admin.replies.length", { n: form.body.length, max: LIMITS.body })}</span>
        </p>
        <div class="replies-buttons">
          <button type="submit" class="button button-primary" disabled={full}>
            {editing ? t("admin.replies.save") : t("admin.replies.add")}
          </button>
          {editing && (
            <button type="button" class="button" onClick={stopEditing}>
              {t("admin.replies.cancel")}
            </button>
          )}
        </div>
      </form>
      {full && <p class="reports-note">{t("admin.replies.full", { max: LIMITS.replies })}</p>}
      <p role="status" class="replies-done">
        {done}
      </p>
      {replies === null ? (
        <p class="reports-note">{t("app.loading")}</p>
      ) : replies.length === 0 ? (
        <p class="reports-note">{t("admin.replies.none")}</p>
      ) : (
        <>
          {(replies.length > FILTER_FROM || query) && (
            <label class="replies-filter">
              {t("admin.replies.filter")}
              <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
            </label>
          )}
          <div class="reports-table-wrap replies-list">
            <table class="reports-table admin-table">
              <thead>
                <tr>
                  <th scope="col">{t("admin.replies.shortcut")}</th>
                  <th scope="col">{t("admin.replies.replyTitle")}</th>
                  <th scope="col">{t("admin.replies.body")}</th>
                  <th scope="col">{t("admin.replies.updated")}</th>
                  <th scope="col">{t("admin.actions")}</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((reply) => (
                  <tr key={reply.id} class={editing?.id === reply.id ? "is-editing" : ""}>
                    <th scope="row">
                      <code>/{reply.shortcut}</code>
                    </th>
                    <td>{reply.title}</td>
                    <td>
                      <div class="replies-body">{reply.body}</div>
                    </td>
                    <td>{when(reply.updated_at)}</td>
                    <td>
                      <div class="replies-actions">
                        <button type="button" class="button button-small" onClick={() => edit(reply)}>
                          {t("admin.replies.edit", { shortcut: reply.shortcut })}
                        </button>
                        <ConfirmButton
                          label={t("admin.replies.delete", { shortcut: reply.shortcut })}
                          confirmLabel={t("admin.replies.confirmDelete", { shortcut: reply.shortcut })}
                          onConfirm={() => remove(reply)}
                        />
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {shown.length === 0 && <p class="reports-note">{t("admin.replies.noMatch", { query: query.trim() })}</p>}
        </>
      )}
    </section>
  );
}

function WrapupCodes({ tenant, run }) {
  const t = useT();
  const [saved, setSaved] = useState(null); // {items: [{code, label}], required}, as the API keeps it
  const [rows, setRows] = useState([]); // the draft: {key, code, label, auto}; auto: code follows the label
  const [required, setRequired] = useState(false);
  const [done, setDone] = useState("");
  const nextKey = useRef(0);
  const focusKey = useRef(null);

  const newRow = (code, label, auto) => ({ key: nextKey.current++, code, label, auto });
  const show = useCallback((got) => {
    setSaved(got);
    setRows(got.items.map((c) => newRow(c.code, c.label, false)));
    setRequired(got.required);
  }, []);
  useEffect(() => {
    run(() => repliesApi.wrapupCodes(tenant.id), show);
  }, [tenant.id, run, show]);
  useEffect(() => {
    if (focusKey.current === null) return;
    document.getElementById(`wrapup-label-${focusKey.current}`)?.focus();
    focusKey.current = null;
  });

  const body = { items: rows.map((r) => ({ code: r.code.trim(), label: r.label.trim() })), required };
  const dirty = saved !== null && JSON.stringify(body) !== JSON.stringify({ items: saved.items, required: saved.required });
  const fieldName = (field) => {
    const row = /^items\.(\d+)\.(code|label)$/.exec(field);
    if (row) return t(row[2] === "code" ? "admin.wrapup.codeOf" : "admin.wrapup.labelOf", { n: Number(row[1]) + 1 });
    return { items: t("admin.wrapup.codes"), required: t("admin.wrapup.required") }[field] ?? field;
  };

  function edit(update) {
    setRows(update);
    setDone("");
  }
  const change = (key, field) => (e) => {
    const value = e.currentTarget.value;
    edit((all) =>
      all.map((r) => {
        if (r.key !== key) return r;
        if (field === "label") return { ...r, label: value, ...(r.auto && { code: codeFrom(value) }) };
        return { ...r, code: value.toLowerCase(), auto: false };
      }),
    );
  };
  function move(index, by) {
    edit((all) => {
      const next = [...all];
      [next[index], next[index + by]] = [next[index + by], next[index]];
      return next;
    });
  }
  function addRow() {
    const row = newRow("", "", true);
    focusKey.current = row.key;
    edit((all) => [...all, row]);
  }
  async function save(event) {
    event.preventDefault();
    if (await run(namingFields(() => repliesApi.setWrapupCodes(tenant.id, body), fieldName), show)) setDone(t("admin.wrapup.saved"));
  }

  return (
    <section class="admin-section" aria-labelledby="admin-wrapup">
      <h3 id="admin-wrapup">{t("admin.wrapup.title")}</h3>
      <p class="reports-note replies-explain">{t("admin.wrapup.explain")}</p>
      {saved === null ? (
        <p class="reports-note">{t("app.loading")}</p>
      ) : (
        <form class="wrapup-form" onSubmit={save} aria-labelledby="admin-wrapup">
          {rows.length === 0 ? (
            <p class="reports-note">{t("admin.wrapup.none")}</p>
          ) : (
            <div class="reports-table-wrap">
              <table class="reports-table admin-table">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">{t("admin.wrapup.label")}</th>
                    <th scope="col">{t("admin.wrapup.code")}</th>
                    <th scope="col">{t("admin.actions")}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row, index) => (
                    <tr key={row.key}>
                      <th scope="row">{index + 1}</th>
                      <td>
                        <input
                          id={`wrapup-label-${row.key}`}
                          aria-label={t("admin.wrapup.labelOf", { n: index + 1 })}
                          value={row.label}
                          onInput={change(row.key, "label")}
                          required
                          maxLength={LIMITS.label}
                        />
                      </td>
                      <td>
                        <input
                          aria-label={t("admin.wrapup.codeOf", { n: index + 1 })}
                          aria-describedby="wrapup-code-hint"
                          value={row.code}
                          onInput={change(row.key, "code")}
                          required
                          maxLength={LIMITS.code}
                          pattern={NAME_PATTERN}
                          autocomplete="off"
                          spellcheck={false}
                        />
                      </td>
                      <td>
                        <div class="replies-actions">
                          <button
                            type="button"
                            class="button button-small"
                            onClick={() => move(index, -1)}
                            disabled={index === 0}
                            aria-label={t("admin.wrapup.moveUp", { n: index + 1 })}
                            title={t("admin.wrapup.moveUp", { n: index + 1 })}
                          >
                            ↑
                          </button>
                          <button
                            type="button"
                            class="button button-small"
                            onClick={() => move(index, 1)}
                            disabled={index === rows.length - 1}
                            aria-label={t("admin.wrapup.moveDown", { n: index + 1 })}
                            title={t("admin.wrapup.moveDown", { n: index + 1 })}
                          >
                            ↓
                          </button>
                          <button type="button" class="button button-small" onClick={() => edit((all) => all.filter((r) => r.key !== row.key))}>
                            {t("admin.wrapup.remove", { n: index + 1 })}
                          </button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="replies-hints">
            <span id="wrapup-code-hint">{t("admin.wrapup.codeHint")}</span>
            <span>{t("admin.wrapup.max", { max: LIMITS.codes })}</span>
          </p>
          <button type="button" class="button" onClick={addRow} disabled={rows.length >= LIMITS.codes}>
            {t("admin.wrapup.addRow")}
          </button>
          <label class="wrapup-required">
            <input
              type="checkbox"
              checked={required}
              onChange={(e) => {
                setRequired(e.currentTarget.checked);
                setDone("");
              }}
              aria-describedby="wrapup-required-hint"
            />
            {t("admin.wrapup.required")}
          </label>
          <p class="replies-hints" id="wrapup-required-hint">
            {t("admin.wrapup.requiredHint")}
          </p>
          {dirty && <p class="reports-note">{t("admin.wrapup.unsaved")}</p>}
          <div class="replies-buttons">
            <button type="submit" class="button button-primary" disabled={!dirty}>
              {t("admin.wrapup.save")}
            </button>
            {dirty && (
              <button type="button" class="button" onClick={() => show(saved)}>
                {t("admin.wrapup.discard")}
              </button>
            )}
          </div>
        </form>
      )}
      <p role="status" class="replies-done">
        {done}
      </p>
    </section>
  );
}
