// The status page with JavaScript on: the check goes to POST /v1/self/check (the certificate as
// the body) and the answer is built with DOM calls (textContent only: no HTML from the server
// reaches the page). Without JavaScript the form posts to /status/check, which answers a whole
// page. The copy button appears only here, where it can work.
'use strict';
(function () {
  var form = document.getElementById('check');
  var out = document.getElementById('answer');
  if (!form || !out || !window.fetch) {
    copyButtons(document);
    return;
  }
  var LABEL = { will_work: 'Will work', at_risk: 'At risk', will_fail: 'Will fail' };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function row(dl, name, value) {
    if (value === null || value === undefined || value === '') return;
    dl.appendChild(el('dt', null, name));
    dl.appendChild(el('dd', null, String(value)));
  }

  function render(a) {
    var sec = el('section', 'answer state-' + a.state);
    sec.setAttribute('aria-labelledby', 'state');
    var h = el('h2', null, LABEL[a.state] || a.state);
    h.id = 'state';
    h.setAttribute('tabindex', '-1');
    sec.appendChild(h);
    sec.appendChild(el('p', 'why', a.why));
    if (a.steps && a.steps.length) {
      sec.appendChild(el('h3', null, 'What to do'));
      var ol = el('ol');
      a.steps.forEach(function (s) { ol.appendChild(el('li', null, s)); });
      sec.appendChild(ol);
    }
    if (a.helpdesk || a.organisation) {
      sec.appendChild(el('p', 'contact', (a.organisation || 'Your organisation') +
        "'s helpdesk: " + (a.helpdesk || 'ask your IT department')));
    }
    var d = el('details');
    d.appendChild(el('summary', null, 'Details for IT'));
    var dl = el('dl');
    row(dl, 'Result', a.state);
    row(dl, 'Reason code', a.code);
    row(dl, 'Valid until', a.expires);
    (a.details && a.details.profiles || []).forEach(function (p) {
      var t = p.outcome;
      if (p.kdc_error) t += ', ' + p.kdc_error;
      if (p.event) t += ', KDC event ' + p.event;
      row(dl, 'DC ' + p.profile, t);
    });
    d.appendChild(dl);
    sec.appendChild(d);
    sec.appendChild(helpdesk(a.helpdesk_text));
    out.replaceChildren(sec);
    h.focus();
  }

  function helpdesk(text) {
    var wrap = el('div');
    var lab = el('label', null, 'Text for your helpdesk');
    lab.htmlFor = 'helpdesk';
    wrap.appendChild(el('h3', null, 'Helpdesk text'));
    wrap.appendChild(lab);
    var ta = el('textarea');
    ta.id = 'helpdesk';
    ta.readOnly = true;
    ta.rows = 8;
    ta.value = text;
    wrap.appendChild(ta);
    var b = el('button', 'secondary copy', 'Copy helpdesk text');
    b.type = 'button';
    b.setAttribute('data-copy', 'helpdesk');
    wrap.appendChild(b);
    wrap.appendChild(el('span', 'copied', ''));
    copyButtons(wrap);
    return wrap;
  }

  function problem(p) {
    var sec = el('section', 'answer state-error');
    var h = el('h2', null, 'This file could not be checked');
    h.id = 'state';
    h.setAttribute('tabindex', '-1');
    sec.appendChild(h);
    sec.appendChild(el('p', 'why', (p && p.detail) || (p && p.title) || 'The check failed.'));
    out.replaceChildren(sec);
    h.focus();
  }

  form.addEventListener('submit', function (ev) {
    var input = document.getElementById('certificate');
    if (!input.files || !input.files[0]) return;
    ev.preventDefault();
    out.replaceChildren(el('p', null, 'Checking…'));
    fetch('/v1/self/check', {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: input.files[0],
      credentials: 'same-origin'
    }).then(function (r) {
      return r.json().then(function (j) { return r.ok ? render(j) : problem(j); });
    }).catch(function () { problem(null); });
  });
  copyButtons(document);

  function copyButtons(root) {
    root.querySelectorAll('button[data-copy]').forEach(function (b) {
      b.hidden = false;
      b.addEventListener('click', function () {
        var ta = document.getElementById(b.getAttribute('data-copy'));
        var note = b.nextElementSibling;
        var done = function () { if (note) note.textContent = ' Copied.'; };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(ta.value).then(done, function () { ta.select(); });
        } else {
          ta.select();
        }
      });
    });
  }
})();
