namespace Foresight.Core.Insights;

/// <summary>A sparse vector: term indices in ascending order and their values. Immutable.</summary>
public sealed class SparseVector
{
    internal readonly int[] Idx;
    internal readonly double[] Val;

    internal SparseVector(int[] indices, double[] values) { Idx = indices; Val = values; }

    public static readonly SparseVector Empty = new([], []);

    /// <summary>The number of non-zero entries.</summary>
    public int Count => Idx.Length;
    public IReadOnlyList<int> Indices => Idx;
    public IReadOnlyList<double> Values => Val;
    public bool IsZero => Idx.Length == 0;

    /// <summary>The value at a term index (0 when absent).</summary>
    public double this[int index]
    {
        get
        {
            int i = Array.BinarySearch(Idx, index);
            return i >= 0 ? Val[i] : 0;
        }
    }

    public double Dot(SparseVector other)
    {
        double s = 0;
        int i = 0, j = 0;
        while (i < Idx.Length && j < other.Idx.Length)
        {
            if (Idx[i] == other.Idx[j]) s += Val[i++] * other.Val[j++];
            else if (Idx[i] < other.Idx[j]) i++;
            else j++;
        }
        return s;
    }

    /// <summary>Dot product with a dense vector indexed by term.</summary>
    public double Dot(ReadOnlySpan<double> dense)
    {
        double s = 0;
        for (int i = 0; i < Idx.Length; i++) s += Val[i] * dense[Idx[i]];
        return s;
    }

    public double Norm()
    {
        double s = 0;
        foreach (var v in Val) s += v * v;
        return Math.Sqrt(s);
    }

    /// <summary>Cosine similarity; 0 when either vector is zero.</summary>
    public double Cosine(SparseVector other)
    {
        double n = Norm() * other.Norm();
        return n == 0 ? 0 : Dot(other) / n;
    }
}
