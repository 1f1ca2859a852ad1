export { ResultsQueryError } from './errors';
export { foldedText } from './folded';
export {
  compareTimed,
  countKey,
  mergeCounts,
  mergeEvents,
  mergeHist,
  mergeOutputs,
  mergeStacks,
  sortCountEntries,
  type MergeableOutput,
  type TimedEventsOutput,
  type TimedRecord,
} from './merge';
export {
  histCount,
  histOutliers,
  histPercentile,
  histStats,
  OUTLIER_FACTOR,
  type BucketBounds,
  type HistOutlier,
  type HistStats,
  type Percentile,
} from './hist-stats';
export { DEFAULT_TOP_LIMIT } from './limit';
export { countsTop, type CountsFilter, type CountsTop, type CountsTopOptions, type CountsTopRow } from './counts-top';
export {
  compareCounts,
  compareHist,
  diffFolded,
  type CountDelta,
  type CountsComparison,
  type HistComparison,
  type HistShift,
  type JobHist,
  type PercentileShift,
} from './compare';
export { pprofSampleType, stacksToPprof, type PprofOptions, type PprofSampleType } from './pprof';
export { topFunctions, type FunctionWeight, type TopFunctions } from './top-functions';
export { countsView, eventsView, histView } from './output-views';
