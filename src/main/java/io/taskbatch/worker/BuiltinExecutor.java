package io.taskbatch.worker;

import io.taskbatch.queue.TaskMessage;

/** Runs a builtin handler on the slot's own thread. */
public final class BuiltinExecutor implements TaskExecutor {
    private final TaskHandler handler;

    public BuiltinExecutor(TaskHandler handler) {
        this.handler = handler;
    }

    @Override
    public String execute(TaskMessage task) throws Exception {
        return handler.handle(task.input());
    }

    @Override
    public boolean waitsMostly() {
        return handler.waitsMostly();
    }
}
