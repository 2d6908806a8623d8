package io.taskbatch.master;

/** Told a batch's progress periodically (a progress bar, a status writer), and its outcome once. */
public interface ProgressListener {

    void onProgress(Progress progress);

    default void onFinish(BatchOutcome outcome) {
    }

    ProgressListener NONE = p -> { };

    /** Tells {@code this}, then {@code other}. */
    default ProgressListener andThen(ProgressListener other) {
        ProgressListener first = this;
        return new ProgressListener() {
            @Override
            public void onProgress(Progress progress) {
                first.onProgress(progress);
                other.onProgress(progress);
            }

            @Override
            public void onFinish(BatchOutcome outcome) {
                first.onFinish(outcome);
                other.onFinish(outcome);
            }
        };
    }
}
