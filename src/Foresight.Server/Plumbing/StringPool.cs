using System.Collections.Concurrent;

namespace Foresight.Server.Plumbing;

/// <summary>
/// One string per distinct short text (question ids, option codes, years), for data that holds millions of answers:
/// each repeat shares the first instance instead of keeping its own copy. Longer texts pass through. Not thread-safe.
/// </summary>
/// <param name="shared">where a text this pool has not seen yet gets its instance, for pools on several threads that
/// should hand out the same ones (code that meets the same value compares it by reference first)</param>
public sealed class StringPool(int maxLength = 16, ConcurrentDictionary<string, string>? shared = null)
{
    readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    public string Get(string s)
    {
        if (s.Length > maxLength) return s;
        if (_strings.TryGetValue(s, out var pooled)) return pooled;
        if (shared is not null) s = shared.GetOrAdd(s, s);
        _strings[s] = s;
        return s;
    }
}
