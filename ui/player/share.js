// Links out of the race: "Copy link" (the page's full address, scheme to query) and "Explain this step"
// (the explainer at the shown step, one link per optimizer). Python sends what it knows (`data.links`:
// the explainer's address and each path's settings as a query string); the step lives here, in the
// browser, so the links are composed when the panel opens.

import { dlEl } from "./util.js";

// URL flags of the presenter view: a shared link opens the normal page (as the QR code does).
export const DL_PRIVATE_PARAMS = ["present", "contrast"];

// The address to share: `href` (the page's own, absolute) without the presenter flags and the fragment.
export function dlShareUrl(href) {
  const url = new URL(href);
  for (const key of DL_PRIVATE_PARAMS) url.searchParams.delete(key);
  url.hash = "";
  return url.toString();
}

// The explainer's link for one path at step t (>= 1): its address `base` (absolute, or relative to
// `href`), the path's settings `query` and the step.
export function dlExplainUrl(base, query, t, href) {
  const url = new URL(base, href);
  url.search = String(query || "");
  url.searchParams.set("t", String(Math.max(1, Math.floor(Number(t) || 1))));
  return url.toString();
}

export const DlShare = {
  // The two buttons (when Python sent `links`) and their panel.
  buildShare(tools) {
    const links = this.data.links && typeof this.data.links === "object" ? this.data.links : null;
    if (!links) return null;
    const box = dlEl("div", "dl-panel dl-share");
    box.id = `${this.uid}-share`;
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Links out of this race");
    box.hidden = true;
    this.sharePanel = box;
    if (links.copy) {
      this.copyButton = this.button("dl-copy-button", "Copy link", () => this.copyLink());
      this.copyButton.title = "Copy the full address of this race";
      tools.prepend(this.copyButton);
    }
    const explain = links.explain && Array.isArray(links.explain.queries) ? links.explain : null;
    if (explain && explain.queries.length === this.paths.length) {
      this.explain = explain;
      this.explainButton = this.button("dl-explain-button", "Explain this step", () => this.openExplain());
      this.explainButton.setAttribute("aria-expanded", "false");
      this.explainButton.setAttribute("aria-controls", box.id);
      tools.prepend(this.explainButton);
    }
    return box;
  },

  // Copies the page's address; the panel shows it too (selected), for browsers that refuse the clipboard.
  async copyLink() {
    const url = dlShareUrl(window.location.href);
    const box = this.sharePanel;
    box.replaceChildren(dlEl("h2", "dl-panel-title", "Link to this race"));
    box.setAttribute("aria-label", "Link to this race");
    const field = dlEl("input", "dl-share-url");
    field.type = "text";
    field.readOnly = true;
    field.value = url;
    field.setAttribute("aria-label", "Link to this race");
    const status = dlEl("p", "dl-panel-note", "");
    status.setAttribute("aria-live", "polite");
    box.append(field, status, this.closeButton(box));
    this.togglePanel(box, this.copyButton, true);
    field.select();
    try {
      await navigator.clipboard.writeText(url);
      status.textContent = "Copied: paste it into slides or a message.";
    } catch (err) {
      status.textContent = "Select the link above and copy it (the browser did not allow copying).";
    }
    this.announce("Link copied");
  },

  // Pauses, then lists one link per optimizer to the explainer at the shown step.
  openExplain() {
    if (this.playing) this.pause();
    const t = Math.max(1, this.clock.step);
    const box = this.sharePanel;
    box.replaceChildren(dlEl("h2", "dl-panel-title", `Explain step ${t} of…`));
    box.setAttribute("aria-label", `Explain step ${t}`);
    const list = dlEl("ul", "dl-explain-list");
    this.paths.forEach((p, i) => {
      const a = dlEl("a", "dl-explain-link", p.name);
      a.href = dlExplainUrl(this.explain.base, this.explain.queries[i], Math.min(t, this.steps),
        window.location.href);
      a.target = "_self";
      a.style.borderLeftColor = p.color;
      const li = dlEl("li");
      li.append(a);
      list.append(li);
    });
    box.append(list, dlEl("p", "dl-panel-note", "Opens the explainer with this race's settings: every " +
      "number of the step filled in."), this.closeButton(box));
    this.togglePanel(box, this.explainButton, true);
  },
};
