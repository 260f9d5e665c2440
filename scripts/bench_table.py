#!/usr/bin/env python3
"""Markdown table of a scripts/benchmark.sh work dir: dronewatch vs Stone Soup, per scenario.

    scripts/bench_table.py OUT [--eval "NAME ..."] [--dev "NAME ..."]

Rows: the evaluation scenarios, the development ones, then any other run in OUT (by name);
the worst ratio is taken over the evaluation set. scripts/benchmark.sh passes both sets.
Reads OUT/NAME/{dw,ss-gnn-rid}/{score,run}.json (score.json from the benchmark's score.py).
Missing values are shown as "–". GOSPA alpha 2, p 1, c 50 m, mean over scored seconds.
"""
import argparse
import json
import os

DASH = '–'


def load(*parts):
    try:
        with open(os.path.join(*parts)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def fmt(v, nd=1):
    if v is None:
        return DASH
    return f'{v:.{nd}f}' if isinstance(v, float) else str(v)


def pair(a, b, key, nd=1):
    return f'{fmt(a.get(key), nd)} / {fmt(b.get(key), nd)}'


def parts(s):
    return ' / '.join(fmt(s.get(k)) for k in ('localisation', 'missed', 'false'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--eval', default='', help='evaluation scenario names, space-separated')
    ap.add_argument('--dev', default='', help='development scenario names, space-separated')
    args = ap.parse_args()
    out, EVAL = args.out, args.eval.split()
    ORDER = EVAL + args.dev.split()
    ran = {n for n in os.listdir(out) if any(os.path.isdir(os.path.join(out, n, r)) for r in ('dw', 'ss-gnn-rid'))}
    names = [n for n in ORDER if n in ran] + sorted(ran - set(ORDER))
    print('| scenario | dw GOSPA | ss GOSPA | dw/ss | dw loc / missed / false | ss loc / missed / false '
          '| dw RMSE m | ID switches dw / ss | breaks dw / ss | track IDs dw / ss | dw wall s '
          '| dw peak RSS MB | ss wall s | detections |')
    print('|' + '---|' * 14)
    ratios = {}
    for n in names:
        dw, ss = load(out, n, 'dw', 'score.json'), load(out, n, 'ss-gnn-rid', 'score.json')
        dwr, ssr = load(out, n, 'dw', 'run.json'), load(out, n, 'ss-gnn-rid', 'run.json')
        ratio = dw['gospa'] / ss['gospa'] if dw.get('gospa') is not None and ss.get('gospa') else None
        if ratio is not None and n in EVAL:
            ratios[n] = ratio
        cells = [n, fmt(dw.get('gospa')), fmt(ss.get('gospa')), fmt(ratio, 3), parts(dw), parts(ss),
                 fmt(dw.get('rmse_assigned_m')), pair(dw, ss, 'id_switches'), pair(dw, ss, 'track_breaks'),
                 pair(dw, ss, 'track_ids'), fmt(dwr.get('wall_s'), 2), fmt(dwr.get('peak_rss_mb')),
                 fmt(ssr.get('wall_s')), fmt(dwr.get('detections'))]
        print('| ' + ' | '.join(cells) + ' |')
    print()
    if ratios:
        worst = max(ratios, key=ratios.get)
        print(f'Max GOSPA ratio dw/ss over the evaluation set ({len(ratios)} of {len(EVAL)} scenarios): '
              f'{ratios[worst]:.3f} ({worst})')
    else:
        print(f'Max GOSPA ratio dw/ss over the evaluation set: {DASH}')


if __name__ == '__main__':
    main()
