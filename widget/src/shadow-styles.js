// CSS for the widget's shadow roots (the widget's own, and co-browsing's overlay on the page).

/** Constructable style sheets are exempt from CSP's inline-style rule; older browsers get a <style>. */
export function adoptStyles(root, css) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  } catch (e) {
    const style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);
  }
}
