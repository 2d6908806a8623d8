package io.taskbatch.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Kills a child process and every process below it. */
final class ProcessTree {
    /** SIGTERM first, so that a child can clean up; SIGKILL after this. */
    static final Duration KILL_GRACE = Duration.ofMillis(500);

    private ProcessTree() {
    }

    /**
     * Kills {@code root} and every process below it: SIGTERM, {@link #KILL_GRACE}, then SIGKILL for
     * whatever is still alive. Returns how many processes the tree had. Never throws; an interrupt
     * during the grace skips to SIGKILL and is kept on the thread.
     */
    static int kill(ProcessHandle root) {
        return kill(root, List.of());
    }

    /**
     * Like {@link #kill(ProcessHandle)}, also killing {@code seenEarlier}: descendants found
     * before the root exited, which have been re-parented since and are no longer below it.
     */
    static int kill(ProcessHandle root, List<ProcessHandle> seenEarlier) {
        // Snapshot before signalling anyone: once a parent dies its children are re-parented and no longer found.
        Set<ProcessHandle> tree = new LinkedHashSet<>();
        for (ProcessHandle h : seenEarlier) {
            if (running(h)) tree.add(h);
        }
        root.descendants().forEach(tree::add);
        tree.add(root);
        for (ProcessHandle h : tree) h.destroy();

        long graceEnd = System.nanoTime() + KILL_GRACE.toNanos();
        boolean interrupted = false;
        try {
            // the root is our child: its exit is signalled by the JDK reaper, no polling needed
            root.onExit().get(KILL_GRACE.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
        } catch (ExecutionException | TimeoutException ignored) {
            // force below
        }
        // descendants are not our children, so the JDK could only poll them slowly; check briefly ourselves
        long pause = 1;
        while (!interrupted && anyAlive(tree) && System.nanoTime() - graceEnd < 0) {
            try {
                Thread.sleep(pause);
                pause = Math.min(pause * 2, 50);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (ProcessHandle h : tree) {
            if (running(h)) h.destroyForcibly();
        }
        try {
            root.onExit().get(KILL_GRACE.toNanos(), TimeUnit.NANOSECONDS); // SIGKILL is quick; have the root reaped
        } catch (InterruptedException e) {
            interrupted = true;
        } catch (ExecutionException | TimeoutException ignored) {
            // nothing more we can do
        }
        if (interrupted) Thread.currentThread().interrupt();
        return tree.size();
    }

    private static boolean anyAlive(Set<ProcessHandle> handles) {
        for (ProcessHandle h : handles) {
            if (running(h)) return true;
        }
        return false;
    }

    /**
     * Like {@link ProcessHandle#isAlive()}, but a zombie (dead, waiting for its parent to collect
     * its exit status) counts as dead: an orphan's new parent may take its time reaping it.
     */
    static boolean running(ProcessHandle h) {
        if (!h.isAlive()) return false;
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            int afterName = stat.lastIndexOf(')'); // the name in parentheses may itself contain spaces or ')'
            char state = afterName >= 0 && afterName + 2 < stat.length() ? stat.charAt(afterName + 2) : '?';
            return state != 'Z' && state != 'X';
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return h.isAlive(); // no /proc here: trust the JDK
        }
    }
}
