package io.taskbatch.queue;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;

/**
 * A queue with the broker's contract: a message taken is "unacked" until acked; one returned
 * unsettled goes to the back with its delivery count kept, and one returned after
 * {@code deliveryLimit} deliveries is dead-lettered instead of looping forever.
 * {@code capacity} bounds ready plus unacked messages for {@link #put}: back-pressure for publishers.
 */
final class InMemoryQueue<T> {

    /** A message and how often it was delivered. Mutated only under the queue's lock. */
    static final class Envelope<T> {
        final T body;
        int deliveries;

        Envelope(T body) {
            this.body = body;
        }
    }

    // One lock for the ready list and the unacked count: they change together and capacity depends on both.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final Condition notFull = lock.newCondition();
    private final ArrayDeque<Envelope<T>> ready = new ArrayDeque<>();
    private final int capacity;
    private final int deliveryLimit;
    private final BiConsumer<T, Integer> deadLetter;
    private int unacked;
    private boolean closed;

    InMemoryQueue(int capacity, int deliveryLimit, BiConsumer<T, Integer> deadLetter) {
        this.capacity = capacity;
        this.deliveryLimit = deliveryLimit;
        this.deadLetter = deadLetter;
    }

    /** Adds a message, waiting while the queue holds {@code capacity} ready or unacked messages. */
    void put(T body) throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (ready.size() + unacked >= capacity) {
                notFull.await();
            }
            ready.addLast(new Envelope<>(body));
            notEmpty.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Adds a message whatever the capacity (retries and results must never block their sender). */
    void putNow(T body) {
        lock.lock();
        try {
            ready.addLast(new Envelope<>(body));
            notEmpty.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Takes up to {@code max} messages, waiting up to {@code timeout} for the first; none once closed. */
    List<Envelope<T>> take(int max, Duration timeout) throws InterruptedException {
        long nanos = timeout.toNanos();
        lock.lockInterruptibly();
        try {
            while (ready.isEmpty() || closed) {
                if (nanos <= 0 || closed) return List.of();
                nanos = notEmpty.awaitNanos(nanos);
            }
            int n = Math.min(max, ready.size());
            List<Envelope<T>> taken = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                Envelope<T> e = ready.pollFirst();
                e.deliveries++;
                taken.add(e);
            }
            unacked += n;
            if (!ready.isEmpty()) notEmpty.signal();
            return taken;
        } finally {
            lock.unlock();
        }
    }

    Envelope<T> takeOne(Duration timeout) throws InterruptedException {
        List<Envelope<T>> one = take(1, timeout);
        return one.isEmpty() ? null : one.get(0);
    }

    /** Hands out nothing more and wakes every waiting consumer (the batch is over). */
    void close() {
        lock.lock();
        try {
            closed = true;
            notEmpty.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void ack(int count) {
        lock.lock();
        try {
            unacked -= count;
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Returns an unsettled message: to the back of the queue, or to the dead letters past the limit. */
    void requeue(Envelope<T> e) {
        boolean dead;
        lock.lock();
        try {
            unacked--;
            dead = e.deliveries >= deliveryLimit;
            if (!dead) {
                ready.addLast(e);
                notEmpty.signal();
            }
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
        if (dead) deadLetter.accept(e.body, e.deliveries);
    }

    int ready() {
        lock.lock();
        try {
            return ready.size();
        } finally {
            lock.unlock();
        }
    }

    int unacked() {
        lock.lock();
        try {
            return unacked;
        } finally {
            lock.unlock();
        }
    }
}
