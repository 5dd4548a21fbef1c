#!/usr/bin/env bash
# Runs the benchmarks (Benchmarks/, ordo-one/benchmark) in release mode,
# then prints the realtime core's figures against their goals (issue 9; the
# conversion cache's, issue 12): a
# table of what the benchmarks that ran measured (figure | measured | goal | met?).
# Extra arguments go to `swift package benchmark`, e.g. `--filter "Convert.*"` (a
# filter must match the whole name).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh

# The idle-cost benchmark runs these two JACK clients beside itself; the
# benchmark plugin builds only the benchmark executables.
for client in AMIORollingClient PlainJackClient; do
    swift build -c release --package-path Benchmarks --product "$client" >&2
done
# The time-to-first-sound benchmark runs the amio command line.
swift build -c release --product amio >&2
amio_tool="$(swift build -c release --show-bin-path)/amio"

# The benchmarks append samples ("KEY VALUE" lines) of the figures here.
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
status=0
AMIO_BENCHMARK_FIGURES="$figures" AMIO_BENCHMARK_AMIO="$amio_tool" \
    swift package --package-path Benchmarks --allow-writing-to-directory Benchmarks/.benchmarks benchmark --no-progress "$@" \
    || status=$?

# The median of each key's samples, then one row per figure whose samples are
# there (a --filter run has only some). Ratios were measured pairwise in one
# process (mixer and plain read alternately, both clients over the same
# seconds), so their median is taken as such, not as a ratio of medians.
[ -s "$figures" ] && awk '
    { samples[$1] = samples[$1] " " $2 }
    function median(key,    values, count, i, j, swap) {
        count = split(samples[key], values, " ")
        for (i = 2; i <= count; i++)
            for (j = i; j > 1 && values[j - 1] + 0 > values[j] + 0; j--) {
                swap = values[j]; values[j] = values[j - 1]; values[j - 1] = swap
            }
        return count % 2 ? values[(count + 1) / 2] : (values[count / 2] + values[count / 2 + 1]) / 2
    }
    function has(key) { return key in samples }
    function row(figure, measured, goal, met) {
        printf "| %-66s | %-44s | %-24s | %-4s |\n", figure, measured, goal, met
    }
    function dashes(count,    line) { line = sprintf("%" count "s", ""); gsub(/ /, "-", line); return line }
    function yes(condition) { return condition ? "yes" : "no" }
    END {
        print ""
        print "Realtime core against its goals (medians of the samples; ratios measured side by side in one process):"
        row("figure", "measured", "goal", "met?")
        print "|" dashes(68) "|" dashes(46) "|" dashes(26) "|" dashes(6) "|"
        for (p = 64; p <= 256; p *= 4) {
            key = "dram.P" p
            if (!has(key ".ratio_pct")) continue
            ratio = median(key ".ratio_pct")
            row("4096 DRAM-resident stereo clips, P=" p ": mixer / plain read",
                sprintf("%.0f %% (%.2f vs %.2f GB/s)", ratio, median(key ".mixer_GBps"), median(key ".plain_GBps")),
                ">= 50 %", yes(ratio >= 50))
        }
        if (has("oneshot.start_us") && has("oneshot.middle_us") && has("oneshot.end_us")) {
            # The three places took turns, so their medians compare (the largest
            # over the smallest of three noisy samples, round by round, would
            # show the noise, not the position).
            start = median("oneshot.start_us"); middle = median("oneshot.middle_us"); end = median("oneshot.end_us")
            slowest = start; if (middle > slowest) slowest = middle; if (end > slowest) slowest = end
            fastest = start; if (middle < fastest) fastest = middle; if (end < fastest) fastest = end
            spread = slowest / fastest
            row("65 536 one-shot entries, P=16: period at start / middle / end",
                sprintf("%.2f / %.2f / %.2f us", start, middle, end), "<= 10 us each", yes(slowest <= 10))
            row("65 536 one-shot entries: slowest / fastest of the three",
                sprintf("%.2f x", spread), "position-free: <= 1.25 x", yes(spread <= 1.25))
        }
        if (has("split.ratio_32_to_1")) {
            ratio = median("split.ratio_32_to_1")
            row("256-frame period split by 1 / 8 / 32 changes",
                sprintf("%.1f / %.1f / %.1f us", median("split.1_runs_us"), median("split.8_runs_us"),
                        median("split.32_runs_us")), "-", "-")
            row("256-frame period: split by 32 changes / by 1 (unsplit)", sprintf("%.2f x", ratio),
                "<= 1.1 x", yes(ratio <= 1.1))
            row("256-frame period: 32 runs / the same 32 changes on one frame",
                sprintf("%.2f x (%.1f us on one frame)", median("split.ratio_32_to_32_on_one_frame"),
                        median("split.32_on_one_frame_us")), "- (the runs alone)", "-")
            row("256-frame period: 32 changes bringing the playspec playing / by 1",
                sprintf("%.2f x (%.1f us)", median("split.ratio_32_same_playspec_to_1"),
                        median("split.32_runs_same_playspec_us")), "- (nothing read cold)", "-")
        }
        if (has("shaped.ratio")) {
            row("256 looping stereo clips, P=256: faded + enveloped / plain",
                sprintf("%.2f x (%.1f vs %.1f us)", median("shaped.ratio"), median("shaped.faded_us"),
                        median("shaped.plain_us")), "- (issue 11: reported)", "-")
        }
        if (has("crossfade.ratio")) {
            row("256 looping stereo clips, P=256: period inside a crossfade / plain",
                sprintf("%.2f x (%.1f vs %.1f us)", median("crossfade.ratio"), median("crossfade.fading_us"),
                        median("crossfade.plain_us")), "- (both sides mixed: ~2 x)", "-")
        }
        if (has("firstsound.flac_ms")) {
            flac = median("firstsound.flac_ms")
            row("amio play: time to first sound, 10 min 44.1 kHz FLAC, 48 kHz server",
                sprintf("%.0f ms (1 s 48 kHz WAV: %.0f ms)", flac, median("firstsound.wav_ms")), "<= 500 ms", yes(flac <= 500))
        }
        if (has("cache.load_s") && has("cache.decode_s")) {
            # Two benchmarks, so a ratio of their medians.
            load = median("cache.load_s"); decode = median("cache.decode_s")
            row("10 min FLAC 44.1k -> 48k: loaded from the cache / decoding it",
                sprintf("%.2f s vs %.2f s (%.2f x)", load, decode, load / decode), "<= 1 x (issue 12)", yes(load <= decode))
        }
        for (p = 64; p <= 1024; p *= 4) {
            key = "jack.P" p
            if (!has(key ".amio_pct")) continue
            amio = median(key ".amio_pct")
            goal = p == 64 ? 2 : p == 256 ? 0.5 : 0
            row("CPU, rolling client, no clips, input consumed, P=" p,
                sprintf("%.2f %% of a core (C client %.2f %%: %.1f x)", amio, median(key ".c_pct"), median(key ".ratio")),
                goal ? sprintf("<= %s %%", goal) : "-", goal ? yes(amio <= goal) : "-")
            if (has(key ".executor_pct")) {
                executor = median(key ".executor_pct")
                row("  the same, consuming on io.inputExecutor", sprintf("%.2f %% of a core", executor),
                    goal ? sprintf("<= %s %%", goal) : "-", goal ? yes(executor <= goal) : "-")
            }
            if (has(key ".coarse_pct")) {
                coarse = median(key ".coarse_pct")
                row("  the same, taking input 4096 frames at once (inputChunks(minimumFrames:))",
                    sprintf("%.2f %% of a core", coarse), goal ? sprintf("<= %s %%", goal) : "-", goal ? yes(coarse <= goal) : "-")
            }
        }
    }' "$figures"
exit "$status"
