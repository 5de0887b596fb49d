/**
 * The register step: the bundle becomes the next version of the registered model, and the champion
 * alias moves to it when it beats the champion on one score (scoreOf, the gate's). A champion whose
 * stored score is not comparable (other test data, other scoring) is re-scored here on this run's
 * test split, without the rows it was trained on (its bundle's training-row digest), for both models.
 */
import { BundlePredictor } from "../../bundle/bundle.ts";
import type { ModelRegistry } from "../../bundle/registry.ts";
import { digestHas, readTrainDigest, rowHashes } from "../../bundle/train-digest.ts";
import type { Frame } from "../../core/frame.ts";
import type { ChampionComparison } from "../../tracking/run-store.ts";
import { scoresInBlocks } from "../row-blocks.ts";
import type { PipelineRun } from "../runner.ts";
import {
  type ClassSpace,
  encodeTarget,
  evaluateScores,
  frameSha256,
  type ScoredMetrics,
  scoredMetrics,
  scoreOf,
  threatTarget,
} from "../train.ts";
import type { Champion } from "./drift.ts";
import type { Evaluated } from "./evaluate.ts";
import { testScore } from "./gate.ts";

/**
 * Fewest test rows, after leaving out those the champion was trained on, on which a re-scored
 * champion is compared with a new model; with fewer (or one class only), the run decides on its own
 * gates.
 */
export const MIN_FAIR_ROWS = 30;

/** Indices of the rows whose feature vector is not in `digest` (every row when there is none). */
function fairRows(frame: Frame, columns: readonly string[], digest: BigUint64Array | null): number[] {
  const all = Array.from({ length: frame.nRows }, (_, i) => i);
  if (!digest) return all;
  const h = rowHashes(frame, columns);
  return all.filter((i) => !digestHas(digest, h[i]!));
}

export async function registerStep(
  run: PipelineRun,
  registry: ModelRegistry,
  champion: Champion,
  test: Frame,
  ev: Evaluated,
): Promise<void> {
  const { cfg, schema, paths, rec } = run;
  const scoring = cfg.search.scoring;
  const { score, label: scoreLabel } = testScore(run, ev);
  const champ = champion.version;
  const modelName = champion.modelName;
  /** A bundle's score on labelled rows, as this run scores: its own classes, P(threat) and threshold. */
  const scoreWith = (p: BundlePredictor, rows: Frame): number => {
    const cm = p.manifest;
    const scores = scoresInBlocks(p, rows);
    let metrics: ScoredMetrics;
    if (scoring === "f1_macro") {
      // under the model's own classes (the same target as this run's, its schema's map)
      const space: ClassSpace = {
        mode: cm.target_mode,
        classes: cm.classes,
        classLabels: cm.class_labels,
        classIsThreat: cm.class_is_threat,
      };
      const target = encodeTarget(p.schema, rows, space);
      metrics = evaluateScores(target, space, scores, cm.threshold, cfg.search.target_fpr, true).metrics;
    } else {
      // the threat decision: whatever the model's classes, its P(threat) and threshold
      const y = threatTarget(p.schema, rows);
      metrics = scoredMetrics(y, scores.threat, cm.threshold, cfg.search.target_fpr);
    }
    return scoreOf(metrics, scoring);
  };
  const testSha = frameSha256(test);
  let beats = true;
  let reason = "no champion yet";
  const champTarget = champ?.tags.target ?? "binary";
  if (champ && scoring === "f1_macro" && champTarget !== cfg.target) {
    // macro F1 averages over the target's classes: over other classes it is another number
    beats = false;
    reason = `f1_macro over ${cfg.target} classes is not comparable with champion v${champ.version}'s (a ${champTarget} target); the champion stays — compare across targets with a threat-decision scoring (f1, roc_auc, pr_auc, tpr_at_fpr, accuracy)`;
  } else if (champ) {
    const sameData = champ.test_data_sha256 === testSha;
    let champScore = champ.score;
    let newScore = score;
    let how = `its registered ${champ.score_name} on the same test data`;
    let ownGates = false;
    if (!sameData || champ.score_name !== scoreLabel) {
      // a stored score is comparable only if it is this run's metric on this run's test data; else
      // the champion is scored here, on this run's test split, with this run's scoring
      let p: BundlePredictor | null = null;
      try {
        p = new BundlePredictor(registry.versionDir(modelName, champ.version));
      } catch (e) {
        // a champion that no longer loads (deleted or damaged files) cannot serve either: the new
        // version replaces it rather than every later run failing here
        champScore = Number.NEGATIVE_INFINITY;
        how = `the champion's bundle does not load (${e instanceof Error ? e.message : String(e)})`;
        run.warn(`champion v${champ.version} is replaced: ${how}`);
      }
      if (p) {
        // rows the champion was trained on are left out, for both models (train-digest.ts)
        const digest = readTrainDigest(p.dir, p.manifest.train_digest);
        const fair = fairRows(test, p.manifest.input_columns, digest);
        const cmp: ChampionComparison = {
          champion_version: champ.version,
          test_rows: test.nRows,
          excluded_rows: digest ? test.nRows - fair.length : null,
          compared_rows: fair.length,
          score_name: scoreLabel,
          score: null,
          champion_score: null,
          note: "",
        };
        const seen = `${cmp.excluded_rows} of ${test.nRows} test rows were in champion v${champ.version}'s training data`;
        const rows = fair.length === test.nRows ? test : test.take(fair);
        const y = threatTarget(schema, rows);
        const bothClasses = y.includes(0) && y.includes(1);
        if (digest && (fair.length < MIN_FAIR_ROWS || !bothClasses)) {
          ownGates = true;
          cmp.note = `${seen}; the ${fair.length} left ${fair.length < MIN_FAIR_ROWS ? `are fewer than ${MIN_FAIR_ROWS}` : "hold one class only"}, too few for a fair comparison: decided on this run's own gates (passed)`;
        } else {
          champScore = scoreWith(p, rows);
          if (rows !== test) newScore = scoreWith(new BundlePredictor(paths.bundle), rows);
          cmp.score = newScore;
          cmp.champion_score = champScore;
          cmp.note = !digest
            ? `re-scored on this run's ${test.nRows} test rows; champion v${champ.version}'s bundle predates training-row digests, so the rows it was trained on could not be excluded`
            : cmp.excluded_rows === 0
              ? `re-scored on this run's test split (${seen})`
              : `re-scored on this run's test split without the rows champion v${champ.version} was trained on (${seen}; both models compared on the other ${fair.length})`;
        }
        rec.champion_comparison = cmp;
        how = `${cmp.note} (registered: ${champ.score_name} ${champ.score.toFixed(4)} on ${sameData ? "the same" : "other"} test data)`;
      }
    }
    if (ownGates) {
      beats = true;
      reason = `${scoreLabel} ${score.toFixed(4)}; champion v${champ.version} not compared: ${how}`;
    } else {
      beats = newScore > champScore;
      reason = `${scoreLabel} ${newScore.toFixed(4)} vs champion v${champ.version} ${scoreLabel} ${champScore.toFixed(4)}, ${how}`;
    }
  }
  run.progress("register", 0.5, `champion decision: ${beats ? "promote" : "keep the champion"}: ${reason}`);
  const v = registry.addVersion(modelName, paths.bundle, {
    run_id: run.id,
    model: ev.winner,
    dataset: schema.name,
    score_name: scoreLabel,
    score,
    test_data_sha256: testSha,
    metrics: rec.metrics,
    // the target decides what f1_macro averages over (absent: binary, as before targets existed)
    tags: cfg.target === "binary" ? {} : { target: cfg.target },
  });
  rec.registry = { name: modelName, version: v.version };
  if (beats) {
    registry.setAlias(modelName, "champion", v.version, reason);
    rec.champion = true;
  } else run.warn(`not promoted: ${reason}`);
}
