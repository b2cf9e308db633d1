// One labelled form field (pre-chat and offline forms): text, email, tel, textarea or select.
// Native constraint validation (required, type=email) gives accessible errors for free.
const INPUT_TYPES = ["email", "tel"];

export function Field({ t, label, name, type = "text", required = false, options = [], ...rest }) {
  const id = `wecc-${name.replace(/[^\w-]/g, "-")}`;
  const props = { id, name, required, ...rest };
  let control;
  if (type === "textarea") control = <textarea rows="3" maxLength={5000} {...props} />;
  else if (type === "select") {
    control = (
      <select {...props}>
        <option value="">{t.choose}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label || o.value}
          </option>
        ))}
      </select>
    );
  } else control = <input type={INPUT_TYPES.includes(type) ? type : "text"} maxLength={type === "email" ? 254 : 200} {...props} />;
  return (
    <div class="field">
      <label for={id}>
        {label}
        {!required && <span class="opt"> {t.optional}</span>}
      </label>
      {control}
    </div>
  );
}

/** The form's values by name, trimmed. */
export function formValues(form) {
  const values = {};
  new FormData(form).forEach((value, name) => (values[name] = String(value).trim()));
  return values;
}

/** Name and e-mail, each asked as the tenant's form says: "required", "optional" or "hidden". */
export function Contact({ t, form }) {
  return [
    form.name !== "hidden" && <Field t={t} label={t.name} name="name" required={form.name === "required"} autocomplete="name" data-autofocus />,
    form.email !== "hidden" && <Field t={t} label={t.email} name="email" type="email" required={form.email === "required"} autocomplete="email" />,
  ];
}
