package io.taskbatch.master;

/** Told a batch's progress periodically (a progress bar, a status writer), and its outcome once. */
public interface ProgressListener {

    void onProgress(Progress progress);

    default void onFinish(BatchOutcome outcome) {
    }

    ProgressListener NONE = p -> { };
}
