{# brainconv: a layer's threshold and reset as one code object (cpp_standalone), for groups
   without a refractory period (brainconv/thresholds.py builds it), instead of Brian2's two:
   1. the spikes, in ascending order as Brian2's thresholder finds them. With AVX2, in chunks of
      256 neurons: the conditions into a byte buffer (a plain loop the compiler vectorises), then
      for each 8 neurons one lookup-table permutation stores the indices of those that spiked
      at the next free slots and the count grows by the mask's popcount (8 neurons per store
      and no branch per neuron; ~2x faster than the loop below in a micro-benchmark, docs/
      performance.md). Without AVX2 or a GCC-style compiler (__builtin_popcount; MSVC),
      brainconv's branchless loop (threshold.cpp): every neuron writes its index into the next free slot and the condition is added to the count.
      The count is at most the first index of the 8 stored, so a store never reaches slot N.
   0. for a first layer (thresholds.py, with_update), its state update, in the same pass just
      before each neuron's condition, instead of a pass of its own at the start of the step.
   2. the reset of each neuron that spiked, as Brian2's resetter would run it next.
   Tried and measured slower or no faster: an in-place compaction of the conditions written
   into the spike space, skipping spike-free blocks of 8 (scalar, and with registers). #}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block extra_headers %}
#if defined(__AVX2__) && defined(__GNUC__)
#define BRAINCONV_AVX2_THRESHOLD
#include <immintrin.h>
#endif
{% endblock %}
{% block maincode %}
    //// MAIN CODE ////////////
    {% set _eventspace = get_array_name(eventspace_variable) %}
    int32_t* __restrict _spikespace = {{_eventspace}};
    const int _N = N;
    long _count = 0;  // as threshold.cpp: no sign extension per store
    {
        const int _vectorisation_idx = -1;
        {{scalar_code['update']|autoindent}}
        {{scalar_code['condition']|autoindent}}
#ifdef BRAINCONV_AVX2_THRESHOLD
        // _positions[m]: the set bits of the 8-bit mask m, in ascending order
        struct _Positions {
            alignas(32) int32_t table[256][8];
            _Positions() {
                for (int m = 0; m < 256; m++) {
                    int p = 0;
                    for (int b = 0; b < 8; b++) if ((m >> b) & 1) table[m][p++] = b;
                    for (; p < 8; p++) table[m][p] = 0;
                }
            }
        };
        static const _Positions _positions;
        alignas(32) char _conditions[256];
        for(int _start=0; _start<_N; _start+=256)
        {
            const int _stop = _N - _start < 256 ? _N : _start + 256;
            for(int _idx=_start; _idx<_stop; _idx++)
            {
                const size_t _vectorisation_idx = _idx;
                {
                    {{vector_code['update']|autoindent}}
                }
                {{vector_code['condition']|autoindent}}
                _conditions[_idx - _start] = _cond;
            }
            int _k = _start;
            for(; _k + 32 <= _stop; _k += 32)
            {
                const __m256i _bytes = _mm256_load_si256((const __m256i*)(_conditions + (_k - _start)));
                const unsigned _mask = (unsigned)_mm256_movemask_epi8(
                    _mm256_cmpgt_epi8(_bytes, _mm256_setzero_si256()));
                if (!_mask) continue;
                for(int _g=0; _g<4; _g++)
                {
                    const unsigned _m = (_mask >> (8 * _g)) & 255u;
                    const __m256i _indices = _mm256_add_epi32(
                        _mm256_set1_epi32(_k + 8 * _g),
                        _mm256_load_si256((const __m256i*)_positions.table[_m]));
                    _mm256_storeu_si256((__m256i*)(_spikespace + _count), _indices);
                    _count += __builtin_popcount(_m);
                }
            }
            for(; _k<_stop; _k++)
            {
                _spikespace[_count] = _k;
                _count += _conditions[_k - _start] ? 1 : 0;
            }
        }
#else
        for(int _idx=0; _idx<_N; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {
                {{vector_code['update']|autoindent}}
            }
            {{vector_code['condition']|autoindent}}
            _spikespace[_count] = _idx;
            _count += _cond ? 1 : 0;
        }
#endif
    }
    _spikespace[_N] = _count;
    {
        const int _vectorisation_idx = -1;
        {{scalar_code['reset']|autoindent}}
        for(long _j=0; _j<_count; _j++)
        {
            const size_t _idx = _spikespace[_j];
            const size_t _vectorisation_idx = _idx;
            {{vector_code['reset']|autoindent}}
        }
    }
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // the array has N+1 elements: the count is the last
{% endblock %}
