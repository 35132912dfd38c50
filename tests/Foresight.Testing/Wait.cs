using System.Diagnostics;

namespace Foresight.Testing;

/// <summary>
/// Waiting on a condition instead of on a time (issue 23): a condition that holds is seen at once however slow the
/// machine is, and the only time in it is a guard against a hang, long enough that no busy machine comes near it.
/// Tests do not sleep to "let something happen", nor assert how long something took (speeds are for
/// tests/Foresight.Benchmarks).
/// </summary>
public static class Wait
{
    /// <summary>How long a condition may take before the test gives up on it: a guard against a hang, not a speed.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="what"/> after the guard.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? guard = null, int pollMs = 100)
    {
        var clock = Stopwatch.StartNew();
        var limit = guard ?? Guard;
        while (!await condition())
        {
            if (clock.Elapsed > limit) Xunit.Assert.Fail($"still waiting after {limit.TotalSeconds:0} s (a guard against a hang): {what()}");
            await Task.Delay(pollMs);
        }
    }

    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? guard = null, int pollMs = 100) =>
        UntilAsync(condition, () => what, guard, pollMs);

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? guard = null, int pollMs = 100) =>
        UntilAsync(() => Task.FromResult(condition()), () => what, guard, pollMs);

    public static Task UntilAsync(Func<bool> condition, Func<string> what, TimeSpan? guard = null, int pollMs = 100) =>
        UntilAsync(() => Task.FromResult(condition()), what, guard, pollMs);

    /// <summary>Reads a value until it satisfies <paramref name="done"/>, and returns it; the failure names the last value read.</summary>
    public static async Task<T> ForAsync<T>(Func<Task<T>> read, Func<T, bool> done, Func<T, string> what, TimeSpan? guard = null, int pollMs = 100)
    {
        T last = default!;
        await UntilAsync(async () => done(last = await read()), () => what(last), guard, pollMs);
        return last;
    }
}
