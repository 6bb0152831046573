// coopflow's only script: the pages work without it. It puts the focus on a form's errors
// and plays the releases plot month by month on request (never by itself; a second press
// stops it and shows every month; with reduced motion asked for, months appear at once).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const errors = document.getElementById("errors");
  if (errors) errors.focus();

  document.querySelectorAll("button[data-animate]").forEach((button) => {
    const svg = document.getElementById(button.dataset.animate);
    if (!svg) return;
    const steps = Array.from(svg.querySelectorAll("[data-step]"));
    if (steps.length < 2) return;
    button.closest("[hidden]")?.removeAttribute("hidden");
    const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    let timer = null;
    const stop = () => {
      clearInterval(timer);
      timer = null;
      steps.forEach((s) => s.classList.remove("waiting"));
      svg.classList.remove("animating");
      button.setAttribute("aria-pressed", "false");
    };
    button.addEventListener("click", () => {
      if (timer !== null) return stop();
      svg.classList.add("animating");
      steps.forEach((s) => s.classList.add("waiting"));
      button.setAttribute("aria-pressed", "true");
      let shown = 0;
      timer = setInterval(() => {
        const step = String(shown);
        steps.filter((s) => s.dataset.step === step).forEach((s) => s.classList.remove("waiting"));
        shown += 1;
        if (steps.every((s) => !s.classList.contains("waiting"))) stop();
      }, reduced ? 0 : 600);
    });
  });
});
