# extract_draft.cmake - cuts the regression-test draft out of a real report.
#
# Runs `FTF repro INPUT --variant=VARIANT`, takes the text between the
# report's "== Regression test draft ==" line and its SIGNATURE line, and
# writes it to OUT as a GoogleTest file (with the include the draft names).
# A report without a draft is a build error: the draft must stay real.
#   cmake -DFTF=... -DINPUT=... -DVARIANT=... -DOUT=... -P extract_draft.cmake
execute_process(COMMAND ${FTF} repro ${INPUT} --variant=${VARIANT}
                OUTPUT_VARIABLE report ERROR_VARIABLE errors RESULT_VARIABLE rc)
set(begin_marker "== Regression test draft ==\n")
string(FIND "${report}" "${begin_marker}" begin)
string(FIND "${report}" "\nSIGNATURE: ftfuzz: " end REVERSE)
if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
  message(FATAL_ERROR "no regression-test draft in the report of ${INPUT} (exit ${rc}):\n${report}${errors}")
endif()
string(LENGTH "${begin_marker}" marker_length)
math(EXPR begin "${begin} + ${marker_length}")
math(EXPR length "${end} + 1 - ${begin}")
string(SUBSTRING "${report}" ${begin} ${length} draft)
file(WRITE ${OUT} "// Generated at build time from the report of `ftf repro ${INPUT} --variant=${VARIANT}`.\n"
                  "#include <gtest/gtest.h>\n\n#include \"runner/replay.h\"\n\n${draft}")
