// The status page with JavaScript on: the check goes to POST /v1/self/check (the certificate as
// the body) and the answer is built with DOM calls (textContent only: no HTML from the server
// reaches the page). Without JavaScript the form posts to /status/check, which answers a whole
// page. The copy button appears only here, where it can work. Every word comes from the page's
// message catalogue, in the page's language: the server puts the texts this script needs in
// <main data-messages> (api/messages.c), and the check asks for the page's language.
//
// For screen readers (docs/self-service.md, "Accessibility"): the state and its reason go into
// the polite live region #result, the rest of the answer beside it into #result-more, so that a
// check is announced once and briefly; focus stays on the button pressed, which the answer
// follows in the reading and Tab order. The copy button's confirmation is a live region too.
'use strict';
(function () {
  var main = document.getElementById('main');
  var form = document.getElementById('check');
  var out = document.getElementById('answer');
  var live = document.getElementById('result');
  var more = document.getElementById('result-more');
  var help = document.getElementById('help');
  var busy = false;
  var M = {};
  try {
    M = JSON.parse((main && main.getAttribute('data-messages')) || '{}');
  } catch (e) {
    M = {};
  }
  // The text of @key with its %s replaced by the further arguments in order, %% by %.
  function t(key) {
    var args = arguments, i = 1;
    return (M[key] || key).replace(/%([s%])/g, function (m, c) {
      return c === '%' ? '%' : (i < args.length ? String(args[i++]) : '');
    });
  }
  if (!form || !out || !live || !more || !window.fetch) {
    copyButtons(document);
    return;
  }

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

  function heading(text, sr) {
    var h = el('h2');
    h.id = 'state';
    if (sr) h.appendChild(el('span', 'sr-only', sr + ' '));
    h.appendChild(document.createTextNode(text));
    return h;
  }

  // The answer: its heading and reason into the live region (spoken once), the rest beside it;
  // the page's own help hidden while an answer (which carries it) is shown.
  function show(state, title, h, why, rest, answered) {
    out.className = 'answer state-' + state;
    out.setAttribute('aria-labelledby', 'state');
    more.replaceChildren();
    rest.forEach(function (e) { more.appendChild(e); });
    live.replaceChildren(h, el('p', 'why', why));
    if (help) help.hidden = answered;
    document.title = t('page.answer_title', title);
    var top = out.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 48) out.scrollIntoView();
    busy = false;
  }

  function render(a) {
    var label = t('state.' + a.state), rest = [];
    if (a.steps && a.steps.length) {
      rest.push(el('h3', null, t('answer.what_to_do')));
      var ol = el('ol');
      a.steps.forEach(function (s) { ol.appendChild(el('li', null, s)); });
      rest.push(ol);
    }
    if (a.helpdesk || a.organisation) {
      rest.push(el('p', 'contact', t('answer.contact',
        a.organisation || t('answer.your_organisation'), a.helpdesk || t('answer.ask_it'))));
    }
    var links = (a.links || []).filter(function (k) { return /^https?:\/\//i.test(k.url); });
    if (links.length) {
      rest.push(el('h3', null, t('links.heading')));
      var ul = el('ul', 'links');
      links.forEach(function (k) {
        var li = el('li'), x = el('a', null, k.title);
        x.href = k.url;
        li.appendChild(x);
        ul.appendChild(li);
      });
      rest.push(ul);
    }
    var d = el('details');
    d.appendChild(el('summary', null, t('details.summary')));
    var dl = el('dl');
    row(dl, t('details.result'), a.state);
    row(dl, t('details.reason_code'), a.code);
    row(dl, t('details.valid_until'), a.expires);
    (a.details && a.details.profiles || []).forEach(function (p) {
      var v = t(p.outcome === 'allow' ? 'details.allow' : 'details.deny');
      if (p.kdc_error) v += ', ' + p.kdc_error;
      if (p.event) v += ', ' + t('details.kdc_event', p.event);
      row(dl, t('details.dc', p.profile), v);
    });
    d.appendChild(dl);
    rest.push(d);
    rest.push(helpdesk(a.helpdesk_text));
    show(a.state, label, heading(label, t('answer.result_sr')), a.why, rest, true);
  }

  function helpdesk(text) {
    var wrap = el('div');
    var lab = el('label', null, t('helpdesk.label'));
    lab.htmlFor = 'helpdesk';
    wrap.appendChild(el('h3', null, t('helpdesk.heading')));
    wrap.appendChild(lab);
    var ta = el('textarea');
    ta.id = 'helpdesk';
    ta.readOnly = true;
    ta.rows = 8;
    ta.value = text;
    wrap.appendChild(ta);
    var b = el('button', 'secondary copy', t('helpdesk.copy'));
    b.type = 'button';
    b.setAttribute('data-copy', 'helpdesk');
    wrap.appendChild(b);
    var note = el('span', 'copied', '');
    note.setAttribute('role', 'status');
    wrap.appendChild(note);
    copyButtons(wrap);
    return wrap;
  }

  // A problem (RFC 9457, in English like the whole API) in the page's words, by its type.
  var UNREADABLE = ['bad-certificate', 'empty-body', 'missing-field', 'unsupported-media-type',
    'body-too-large', 'too-many-certificates', 'no-certificate'];
  var UNAVAILABLE = ['unavailable', 'no-directory', 'directory-unavailable', 'directory-refused',
    'directory-limit'];
  function problem(p, retry) {
    var type = (p && typeof p.type === 'string') ? p.type.replace(/^.*\//, '') : '';
    var title = t('problem.file_title'), text = t('problem.failed');
    if (UNREADABLE.indexOf(type) >= 0) {
      text = t('problem.bad_file');
    } else if (UNAVAILABLE.indexOf(type) >= 0) {
      title = t('problem.unavailable_title');
      text = t('problem.unavailable');
    } else if (type === 'rate-limited') {
      var s = parseInt(retry, 10) || 1;
      title = t('problem.rate_title');
      text = t(s === 1 ? 'problem.wait_one' : 'problem.wait_many', s);
    }
    show('error', title, heading(title), text, [], false);
  }

  form.addEventListener('submit', function (ev) {
    var input = document.getElementById('certificate');
    if (!input.files || !input.files[0]) return;
    ev.preventDefault();
    if (busy) return;
    busy = true;
    out.className = '';
    out.removeAttribute('aria-labelledby');
    more.replaceChildren();
    live.replaceChildren(el('p', null, t('page.checking')));
    fetch('/v1/self/check', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Accept-Language': document.documentElement.lang || 'en'
      },
      body: input.files[0],
      credentials: 'same-origin'
    }).then(function (r) {
      return r.json().then(function (j) {
        return r.ok ? render(j) : problem(j, r.headers.get('Retry-After'));
      });
    }).catch(function () { problem(null); });
  });
  copyButtons(document);

  function copyButtons(root) {
    root.querySelectorAll('button[data-copy]').forEach(function (b) {
      b.hidden = false;
      b.addEventListener('click', function () {
        var ta = document.getElementById(b.getAttribute('data-copy'));
        var note = b.nextElementSibling;
        // said in the live region beside the button: emptied first, so that a second copy is
        // announced again
        var say = function (what) {
          if (note) note.textContent = ' ' + (b.getAttribute('data-' + what) || t('helpdesk.' + what));
        };
        var select = function () {
          ta.select();
          say('select');
        };
        if (note) note.textContent = '';
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(ta.value).then(function () { say('copied'); }, select);
        } else {
          select();
        }
      });
    });
  }
})();
