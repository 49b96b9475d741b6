# variant_campaigns.cmake - the fuzzing.<target>.<variant>.<mode> tests, made
# by ctest when it runs (a TEST_INCLUDE_FILES script, set up in
# tests/CMakeLists.txt) from the variant registry as `ftf variants --json`
# prints it: every mutant on each of its fuzz targets in modes `seeds` and
# `derived`, every other variant that names fuzz targets in mode `clean`.
# Inputs: FTF_TOOL, FTF_FUZZERS_DIR, FTF_SOURCE_DIR, FTF_SAN.

set(ftf_find_mutant "${FTF_SOURCE_DIR}/tests/fuzzing/find_mutant.sh")
execute_process(COMMAND "${FTF_TOOL}" variants --json OUTPUT_VARIABLE ftf_json RESULT_VARIABLE ftf_rc
                ERROR_VARIABLE ftf_err)
if(NOT ftf_rc EQUAL 0)
  # No registry, no campaigns: say so as a failing test rather than run none.
  add_test(fuzzing.variant_registry /bin/sh -c "echo 'ftf variants --json failed (${ftf_rc}): build ftf first'; exit 1")
  return()
endif()

string(JSON ftf_n LENGTH "${ftf_json}")
math(EXPR ftf_last "${ftf_n} - 1")
foreach(i RANGE ${ftf_last})
  string(JSON ftf_name GET "${ftf_json}" ${i} name)
  string(JSON ftf_mutant GET "${ftf_json}" ${i} mutant)
  string(JSON ftf_nt LENGTH "${ftf_json}" ${i} fuzz_targets)
  if(ftf_nt EQUAL 0)
    continue()
  endif()
  math(EXPR ftf_tlast "${ftf_nt} - 1")
  foreach(j RANGE ${ftf_tlast})
    string(JSON ftf_target GET "${ftf_json}" ${i} fuzz_targets ${j})
    set(ftf_fuzzer "${FTF_FUZZERS_DIR}/${ftf_target}")
    if(ftf_mutant)
      foreach(mode seeds derived)
        set(test fuzzing.${ftf_target}.${ftf_name}.${mode})
        add_test(${test} bash "${ftf_find_mutant}" "${ftf_fuzzer}" "${FTF_TOOL}" "${FTF_SOURCE_DIR}" ${ftf_target}
                 ${ftf_name} ${FTF_SAN} ${mode} 200000)
        # Up to five campaigns of 200k runs (find_mutant.sh); each usually stops far sooner.
        set_tests_properties(${test} PROPERTIES SKIP_RETURN_CODE 125 TIMEOUT 1700)
      endforeach()
    else()
      set(test fuzzing.${ftf_target}.${ftf_name}.clean)
      add_test(${test} bash "${ftf_find_mutant}" "${ftf_fuzzer}" "${FTF_TOOL}" "${FTF_SOURCE_DIR}" ${ftf_target}
               ${ftf_name} ${FTF_SAN} clean 3000)
      set_tests_properties(${test} PROPERTIES TIMEOUT 600)
    endif()
  endforeach()
endforeach()
